"""An activity whose input is annotated with a generic alias: the Python worker refuses to load it."""

from typing import Any

import azure.durable_functions as df

app = df.DFApp()


@app.activity_trigger(input_name="payload")
def summarize(payload: dict[str, Any]) -> str:
    return str(payload)
