"""A function name with a dot: the worker indexes it, the host refuses the name."""

import azure.functions as func

app = func.FunctionApp()


@app.function_name("reports.nightly")
@app.timer_trigger(schedule="0 0 3 * * *", arg_name="timer")
def nightly(timer: func.TimerRequest) -> None:
    return None
