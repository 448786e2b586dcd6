import json
import logging

import pytest

from shared.logging import (
    JsonFormatter,
    RedactingFilter,
    configure_logging,
    get_logger,
    log_context,
    redact,
    register_personal_names,
)


def test_emails_and_phone_numbers_are_masked() -> None:
    text = "mail ada.lindqvist@example.com or call +46 70 123 45 67 / (425) 555-0101"
    masked = redact(text)
    assert "example.com" not in masked
    assert "123 45" not in masked
    assert "555-0101" not in masked
    assert masked.count("[phone]") == 2
    assert "[email]" in masked


def test_ids_and_short_numbers_are_kept() -> None:
    assert redact("attempt 3 took 120 ms at 2026-03-02") == "attempt 3 took 120 ms at 2026-03-02"


def test_registered_names_are_masked_case_insensitively() -> None:
    register_personal_names("Zebulon Quaxworth", None, "")
    assert redact("candidate ZEBULON quaxworth advanced") == "candidate [name] advanced"
    assert redact("Quaxworth called back") == "[name] called back"


def test_records_carry_the_instance_id_and_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = get_logger("hireflow.test")
    assert sum(isinstance(f, RedactingFilter) for f in get_logger("hireflow.test").filters) == 1
    with caplog.at_level(logging.INFO, logger="hireflow.test"), log_context(instance_id="abc", activity="x"):
        logger.info("sent to %s", "someone@example.org")
    record = caplog.records[-1]
    assert record.getMessage() == "sent to [email]"
    assert record.instance_id == "abc"  # type: ignore[attr-defined]
    formatted = json.loads(JsonFormatter().format(record))
    assert formatted["instance_id"] == "abc"
    assert formatted["activity"] == "x"
    assert formatted["message"] == "sent to [email]"


def test_context_is_scoped_to_the_block() -> None:
    with log_context(instance_id="outer"):
        with log_context(instance_id="inner", job_id=None):
            record = logging.LogRecord("n", logging.INFO, "f", 1, "m", None, None)
            assert json.loads(JsonFormatter().format(record))["instance_id"] == "inner"
        record = logging.LogRecord("n", logging.INFO, "f", 1, "m", None, None)
        assert json.loads(JsonFormatter().format(record))["instance_id"] == "outer"


def test_exceptions_are_formatted_redacted() -> None:
    try:
        raise ValueError("bad mail x@example.com")
    except ValueError:
        import sys

        record = logging.LogRecord("n", logging.ERROR, "f", 1, "m", None, sys.exc_info())
    payload = json.loads(JsonFormatter().format(record))
    assert "x@example.com" not in payload["error"]
    assert "[email]" in payload["error"]


def test_configure_logging_installs_a_json_handler() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        configure_logging(logging.WARNING)
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1
        assert isinstance(added[0].formatter, JsonFormatter)
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
