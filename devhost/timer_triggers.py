"""Timer triggers on their schedules, as ``func start`` runs them.

Schedules are NCRONTAB expressions with six fields (``second minute hour day month day-of-week``, UTC, as on
Azure without ``WEBSITE_TIME_ZONE``), a five-field cron (seconds taken as 0), or a TimeSpan interval
(``hh:mm:ss``, ``d.hh:mm:ss``). ``%Name%`` resolves an app setting, as the host does. ``run_on_startup`` fires
once when the host starts. A timer that fires while its previous run is still going waits for it (the host
never overlaps runs of one timer function), and a function that raises is logged; the schedule goes on.

Cron expressions are read by ``croniter``, told what NCRONTAB (the library the host uses) means: seconds first
when there are six fields, and a day must match both the day-of-month and the day-of-week fields (NCRONTAB
checks the day of week after choosing the day; classic cron accepts either). A schedule the host cannot read
is refused with the host's words (``TimerSchedule.Create`` in the WebJobs timer extension).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from azure.functions.timer import TimerRequest

# croniter ships no type information (its stubs are a separate package, not installed).
from croniter import CroniterBadDateError, CroniterError, croniter  # type: ignore[import-untyped]

from devhost.functions import FunctionIndex, FunctionInfo
from devhost.invoke import FunctionInvoker

LOGGER = logging.getLogger("devhost.timers")

_SETTING = re.compile(r"^%([^%]+)%$")
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$")
_NCRONTAB_FIELDS = 6
_CLASSIC_CRON_FIELDS = 5


class ScheduleError(ValueError):
    """A schedule that cannot be parsed (the message is the Functions host's)."""


def _not_recognized(expression: str) -> ScheduleError:
    return ScheduleError(
        f"The schedule expression '{expression}' was not recognized as a valid cron expression "
        "or timespan string."
    )


@dataclass(frozen=True)
class CronSchedule:
    """An NCRONTAB expression (six fields, or five with seconds 0), checked when made."""

    expression: str

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """Check ``expression`` as the host does; raise :class:`ScheduleError` in the host's words."""
        fields = len(expression.split())
        if fields not in (_NCRONTAB_FIELDS, _CLASSIC_CRON_FIELDS):
            # croniter also reads a seventh field (years); NCRONTAB does not.
            raise _not_recognized(expression)
        try:
            croniter(expression, datetime(2000, 1, 1, tzinfo=UTC), **cls._options(fields))
        except (CroniterError, ValueError) as error:
            raise _not_recognized(expression) from error
        return cls(expression)

    @staticmethod
    def _options(fields: int) -> dict[str, bool]:
        return {"second_at_beginning": fields == _NCRONTAB_FIELDS, "day_or": False}

    def next_after(self, moment: datetime) -> datetime:
        """Return the first matching second strictly after ``moment``."""
        options = self._options(len(self.expression.split()))
        try:
            following: datetime = croniter(self.expression, moment, **options).get_next(datetime)
        except CroniterBadDateError as error:
            raise ScheduleError(f"the schedule '{self.expression}' never fires") from error
        return following


@dataclass(frozen=True)
class IntervalSchedule:
    """A TimeSpan schedule (``hh:mm:ss``): fire every interval."""

    interval: timedelta

    def next_after(self, moment: datetime) -> datetime:
        """Return one interval after ``moment``."""
        return moment + self.interval


def parse_schedule(text: str) -> CronSchedule | IntervalSchedule:
    """Parse a timer trigger's ``schedule``, resolving ``%Setting%`` from the environment."""
    setting = _SETTING.match(text.strip())
    if setting:
        resolved = os.environ.get(setting.group(1))
        if not resolved:
            raise ScheduleError(f"'{text.strip()}' does not resolve to a value.")
        text = resolved
    span = _TIMESPAN.match(text.strip())
    if span:
        days, hours, minutes, seconds = (int(group or 0) for group in span.groups())
        interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if interval <= timedelta(0):
            raise _not_recognized(text)
        return IntervalSchedule(interval)
    return CronSchedule.parse(text)


class TimerTriggerService:
    """Runs every timer-triggered function on its schedule while the host serves."""

    def __init__(self, index: FunctionIndex, invoker: FunctionInvoker) -> None:
        self.invoker = invoker
        self.schedules: dict[str, tuple[FunctionInfo, CronSchedule | IntervalSchedule]] = {}
        self.fired: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        for info in index.of_type("timerTrigger"):
            try:
                self.schedules[info.name] = (info, parse_schedule(str(info.trigger.get("schedule", ""))))
            except (ScheduleError, ValueError) as error:
                LOGGER.error("timer trigger %s disabled: %s", info.name, error)

    async def start(self) -> None:
        """Start one scheduling task per timer function."""
        for name, (info, schedule) in self.schedules.items():
            run_on_startup = bool(info.trigger.get("runOnStartup", False))
            self._tasks.append(
                asyncio.create_task(self._run(info, schedule, run_on_startup), name=f"timer-{name}")
            )

    async def stop(self) -> None:
        """Cancel the schedules (a run in progress is cancelled with them)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _run(
        self, info: FunctionInfo, schedule: CronSchedule | IntervalSchedule, on_startup: bool
    ) -> None:
        last: datetime | None = None
        if on_startup:
            last = await self._fire(info, schedule, last)
        while True:
            now = datetime.now(UTC)
            due = schedule.next_after(now)
            await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
            last = await self._fire(info, schedule, last)

    async def _fire(
        self, info: FunctionInfo, schedule: CronSchedule | IntervalSchedule, last: datetime | None
    ) -> datetime:
        now = datetime.now(UTC)
        status = {
            "Last": (last or now).isoformat(),
            "Next": schedule.next_after(now).isoformat(),
            "LastUpdated": now.isoformat(),
        }
        try:
            await self.invoker.invoke(info, TimerRequest(past_due=False, schedule_status=status))
            LOGGER.info("Executed 'Functions.%s' (Succeeded, timer)", info.name)
        except Exception:
            LOGGER.exception("Executed 'Functions.%s' (Failed, timer)", info.name)
        self.fired[info.name] = self.fired.get(info.name, 0) + 1
        return now
