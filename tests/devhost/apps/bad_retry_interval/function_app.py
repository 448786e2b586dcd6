"""A timer function whose retry delay is not written as HH:MM:SS."""

import azure.functions as func

app = func.FunctionApp()


@app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")
@app.retry(strategy="fixed_delay", max_retry_count="3", delay_interval="10 seconds")
def sweep(timer: func.TimerRequest) -> None:
    return None
