"""Structured logs that carry the orchestration instance id and never carry personal data.

``get_logger(__name__)`` returns a standard logger; :func:`log_context` binds the instance id (and activity
name) for the current task through a context variable, and :class:`RedactingFilter` masks emails, phone
numbers and the names of people the pipeline handles before any handler sees a record.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

__all__ = [
    "JsonFormatter",
    "RedactingFilter",
    "configure_logging",
    "get_logger",
    "log_context",
    "redact",
    "register_personal_names",
]

_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("hireflow_log_context", default={})  # noqa: B039

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# International or local phone numbers: a digit run of 7+ digits with optional separators and a leading +.
_PHONE = re.compile(r"(?<![\w/])\+?\d[\d\s().-]{5,}\d(?![\w/])")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_personal_names: set[str] = set()
_NAMES_LIMIT = 10_000


def register_personal_names(*names: str | None) -> None:
    """Remember names of candidates or recruiters so they are masked wherever they show up in logs."""
    for name in names:
        if not name:
            continue
        for part in {name.strip(), *name.split()}:
            if len(part) >= 3 and len(_personal_names) < _NAMES_LIMIT:
                _personal_names.add(part)


def redact(text: str) -> str:
    """Mask emails, phone numbers and registered personal names in ``text``."""
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub(_mask_phone, text)
    for name in sorted(_personal_names, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}\b", "[name]", text, flags=re.IGNORECASE)
    return text


def _mask_phone(match: re.Match[str]) -> str:
    if _ISO_DATE.fullmatch(match.group(0).strip()):
        return match.group(0)
    digits = sum(ch.isdigit() for ch in match.group(0))
    # Timestamps, sizes and ids contain digit runs too; only phone-like digit counts are masked.
    return "[phone]" if 7 <= digits <= 15 else match.group(0)


class RedactingFilter(logging.Filter):
    """Rewrite each record's message with :func:`redact` and attach the bound context fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drops a record."""
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, instance id and other bound fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as JSON."""
        payload: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(_context.get())
        for key in ("instance_id", "activity", "job_id"):
            value = getattr(record, key, None)
            if value is not None:
                payload[key] = value
        if record.exc_info:
            payload["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Bind fields (``instance_id``, ``activity``, ...) to every record logged inside the block."""
    current = dict(_context.get())
    current.update({key: value for key, value in fields.items() if value is not None})
    token = _context.set(current)
    try:
        yield
    finally:
        _context.reset(token)


def get_logger(name: str) -> logging.Logger:
    """Return a logger whose records are redacted (on the logger: every handler is covered)."""
    logger = logging.getLogger(name)
    if not any(isinstance(existing, RedactingFilter) for existing in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger


def configure_logging(level: int = logging.INFO) -> None:
    """Send JSON lines to stderr (for local runs; on Azure the Functions host owns the handlers)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
