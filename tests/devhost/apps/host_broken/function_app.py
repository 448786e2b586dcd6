"""An app whose import fails: devhost must print the traceback and exit non-zero."""

import azure.functions as func

app = func.FunctionApp()

raise RuntimeError("this app cannot be imported")
