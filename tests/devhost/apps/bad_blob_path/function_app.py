"""A blob trigger path naming a container but no blob: the worker loads it, the blob extension refuses it."""

import azure.functions as func

app = func.FunctionApp()


@app.blob_trigger(arg_name="blob", path="inbox/", connection="AzureWebJobsStorage")
def on_upload(blob: func.InputStream) -> None:
    return None
