"""Timer triggers on schedules, exercised by tests/devhost/host/test_timer_triggers.py."""

import azure.functions as func

app = func.FunctionApp()

TICKS: list[str] = []
STARTUP_RUNS: list[bool] = []


@app.timer_trigger(arg_name="timer", schedule="* * * * * *")
def every_second(timer: func.TimerRequest) -> None:
    TICKS.append(str(timer.schedule_status.get("Next")))


@app.timer_trigger(arg_name="timer", schedule="0 0 0 1 1 *", run_on_startup=True)
def yearly_but_on_startup(timer: func.TimerRequest) -> None:
    STARTUP_RUNS.append(timer.past_due)
