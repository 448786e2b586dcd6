"""Timer triggers on their schedules, as ``func start`` runs them.

Schedules are NCRONTAB expressions with six fields (``second minute hour day month day-of-week``, UTC, as on
Azure without ``WEBSITE_TIME_ZONE``), a five-field cron (seconds taken as 0), or a ``hh:mm:ss`` TimeSpan
interval. ``%Name%`` resolves an app setting, as the host does. ``run_on_startup`` fires once when the host
starts. A timer that fires while its previous run is still going waits for it (the host never overlaps runs of
one timer function), and a function that raises is logged; the schedule goes on.
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

from devhost.functions import FunctionIndex, FunctionInfo
from devhost.invoke import FunctionInvoker

LOGGER = logging.getLogger("devhost.timers")

_MONTHS = {
    name: index
    for index, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
    )
}
_DAYS = {name: index for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_SETTING = re.compile(r"^%([^%]+)%$")
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$")
_SEARCH_DAYS = 366 * 5


class ScheduleError(ValueError):
    """A schedule that cannot be parsed."""


def _field_values(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    values: set[int] = set()
    for part in text.upper().split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ScheduleError(f"step must be positive in {text!r}")

        def number(token: str) -> int:
            if names and token in names:
                return names[token]
            if not token.isdigit():
                raise ScheduleError(f"{token!r} is not a number in {text!r}")
            return int(token)

        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = number(first), number(last)
        else:
            start = number(base)
            end = high if step_text else start
        if start < low or end > high or start > end:
            raise ScheduleError(f"{part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed six-field NCRONTAB expression."""

    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    day_restricted: bool
    weekday_restricted: bool

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """Parse six fields (or five, with seconds 0)."""
        fields = expression.split()
        if len(fields) == 5:
            fields = ["0", *fields]
        if len(fields) != 6:
            raise ScheduleError(f"{expression!r} must have six fields (second minute hour day month weekday)")
        weekdays = set(_field_values(fields[5], 0, 7, _DAYS))
        if 7 in weekdays:  # both 0 and 7 mean Sunday
            weekdays = (weekdays - {7}) | {0}
        return cls(
            seconds=_field_values(fields[0], 0, 59),
            minutes=_field_values(fields[1], 0, 59),
            hours=_field_values(fields[2], 0, 23),
            days=_field_values(fields[3], 1, 31),
            months=_field_values(fields[4], 1, 12, _MONTHS),
            weekdays=frozenset(weekdays),
            day_restricted=fields[3] not in ("*", "?"),
            weekday_restricted=fields[5] not in ("*", "?"),
        )

    def _day_matches(self, day: datetime) -> bool:
        if day.month not in self.months:
            return False
        weekday = (day.weekday() + 1) % 7
        if self.day_restricted and self.weekday_restricted:
            # Classic cron: when both are restricted, either may match.
            return day.day in self.days or weekday in self.weekdays
        return day.day in self.days and weekday in self.weekdays

    def next_after(self, moment: datetime) -> datetime:
        """Return the first matching second strictly after ``moment``."""
        start = moment.replace(microsecond=0) + timedelta(seconds=1)
        day = start.replace(hour=0, minute=0, second=0)
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        for second in sorted(self.seconds):
                            candidate = day.replace(hour=hour, minute=minute, second=second)
                            if candidate >= start:
                                return candidate
            day += timedelta(days=1)
        raise ScheduleError("the schedule never fires")


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
            raise ScheduleError(f"app setting {setting.group(1)!r} (the timer's schedule) is not set")
        text = resolved
    span = _TIMESPAN.match(text.strip())
    if span:
        days, hours, minutes, seconds = (int(group or 0) for group in span.groups())
        interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if interval <= timedelta(0):
            raise ScheduleError(f"interval {text!r} must be positive")
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
