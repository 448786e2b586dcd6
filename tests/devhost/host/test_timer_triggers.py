"""Timer triggers: NCRONTAB and TimeSpan schedules, and firing on schedule while the host serves."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devhost.server import TIMERS
from devhost.timer_triggers import CronSchedule, IntervalSchedule, ScheduleError, parse_schedule
from tests.devhost.host.support import in_process_host, wait_until

MONDAY_NOON = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


def test_every_five_minutes() -> None:
    schedule = CronSchedule.parse("0 */5 * * * *")
    assert schedule.next_after(MONDAY_NOON) == MONDAY_NOON + timedelta(minutes=5)


def test_weekday_names_and_ranges() -> None:
    schedule = CronSchedule.parse("0 30 9 * * MON-FRI")
    friday = datetime(2026, 1, 9, 10, 0, tzinfo=UTC)
    assert schedule.next_after(friday) == datetime(2026, 1, 12, 9, 30, tzinfo=UTC)


def test_five_field_cron_means_second_zero() -> None:
    assert parse_schedule("15 3 * * *").next_after(MONDAY_NOON) == datetime(2026, 1, 6, 3, 15, tzinfo=UTC)


def test_timespan_schedule_is_an_interval() -> None:
    assert parse_schedule("00:00:30") == IntervalSchedule(timedelta(seconds=30))


def test_schedule_from_an_app_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ReportSchedule", "0 0 6 * * *")
    assert parse_schedule("%ReportSchedule%").next_after(MONDAY_NOON) == datetime(
        2026, 1, 6, 6, 0, tzinfo=UTC
    )


def test_invalid_schedule_is_rejected() -> None:
    with pytest.raises(ScheduleError):
        CronSchedule.parse("0 61 * * * *")


@pytest.mark.parametrize(
    "expression", ["0 61 * * * *", "every night", "* * * *", "0 0 12 * * * 2026", "0 0 25 * * *"]
)
def test_a_schedule_the_host_cannot_read_is_refused_in_its_words(expression: str) -> None:
    with pytest.raises(ScheduleError) as refused:
        parse_schedule(expression)
    assert str(refused.value) == (
        f"The schedule expression '{expression}' was not recognized as a valid cron expression "
        "or timespan string."
    )


def test_an_unset_schedule_setting_is_refused_in_the_hosts_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NightlySchedule", raising=False)
    with pytest.raises(ScheduleError, match=r"^'%NightlySchedule%' does not resolve to a value\.$"):
        parse_schedule("%NightlySchedule%")


def test_day_of_month_and_day_of_week_must_both_match_as_in_ncrontab() -> None:
    # Friday the 13th only: NCRONTAB checks the weekday of the chosen day (classic cron would take either).
    schedule = CronSchedule.parse("0 0 12 13 * FRI")
    assert schedule.next_after(MONDAY_NOON) == datetime(2026, 2, 13, 12, 0, tzinfo=UTC)
    assert schedule.next_after(datetime(2026, 2, 13, 12, 0, tzinfo=UTC)) == datetime(
        2026, 3, 13, 12, 0, tzinfo=UTC
    )


def test_seconds_come_first_in_six_fields() -> None:
    assert CronSchedule.parse("*/15 * * * * *").next_after(MONDAY_NOON) == MONDAY_NOON + timedelta(seconds=15)


def test_timespan_with_days() -> None:
    assert parse_schedule("1.02:00:00") == IntervalSchedule(timedelta(days=1, hours=2))


def test_timers_fire_on_schedule_and_on_startup(tmp_path: Path) -> None:
    with in_process_host("host_timers", tmp_path) as host:
        timers = host.running.app[TIMERS]
        wait_until(lambda: timers.fired.get("every_second", 0) >= 2, timeout=10, what="two ticks")
        assert timers.fired.get("yearly_but_on_startup") == 1
        assert host.module_value("yearly_but_on_startup", "STARTUP_RUNS") == [False]
        ticks = host.module_value("every_second", "TICKS")
        assert len(ticks) >= 2
