"""An activity whose input is annotated ``str | None``: a union is not a type the worker accepts."""

import azure.durable_functions as df

app = df.DFApp()


@app.activity_trigger(input_name="payload")
def echo(payload: str | None) -> str:
    return str(payload)
