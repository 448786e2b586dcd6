"""A function with an output binding but no trigger: ``get_functions()`` refuses the app."""

import azure.functions as func

app = func.FunctionApp()


@app.queue_output(arg_name="outbox", queue_name="work", connection="AzureWebJobsStorage")
def orphan(outbox: func.Out[str]) -> None:
    outbox.set("never")
