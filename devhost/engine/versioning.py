"""Orchestration versions as the Durable extension compares them.

Also the words its versioning verdicts use.
"""

from __future__ import annotations

VERSION_MATCH_NONE = "None"
VERSION_MATCH_STRICT = "Strict"
VERSION_MATCH_CURRENT_OR_OLDER = "CurrentOrOlder"
VERSION_MATCH_STRATEGIES = (VERSION_MATCH_NONE, VERSION_MATCH_STRICT, VERSION_MATCH_CURRENT_OR_OLDER)
VERSION_FAILURE_REJECT = "Reject"
VERSION_FAILURE_FAIL = "Fail"
VERSION_FAILURE_STRATEGIES = (VERSION_FAILURE_REJECT, VERSION_FAILURE_FAIL)
# The Durable Task Framework's words when an orchestration's version fails the host's versioning rules.
VERSION_MISMATCH_REASON = "Orchestration version did not comply with Worker Versioning"


def _system_version(text: str) -> tuple[int, ...] | None:
    # System.Version.TryParse: two to four dot-separated non-negative Int32 components.
    parts = text.strip().split(".")
    if not 2 <= len(parts) <= 4 or not all(
        part.strip().isascii() and part.strip().isdigit() for part in parts
    ):
        return None
    numbers = tuple(int(part) for part in parts)
    if any(number > 2**31 - 1 for number in numbers):
        return None
    # An absent build or revision is -1 in .NET, so "1.0" sorts before "1.0.0".
    return numbers + (-1,) * (4 - len(numbers))


def compare_versions(version: str, other: str) -> int:
    """Compare orchestration versions as the Durable Task Framework does (``VersioningSettings``).

    Empty versions are equal and older than any other; two .NET-style versions (``1.0``, ``2.1.3``) compare
    numerically; anything else compares as text, ignoring case. Returns <0, 0 or >0.
    """
    if not version.strip() and not other.strip():
        return 0
    if not version.strip():
        return -1
    if not other.strip():
        return 1
    parsed, parsed_other = _system_version(version), _system_version(other)
    if parsed is not None and parsed_other is not None:
        return (parsed > parsed_other) - (parsed < parsed_other)
    folded, folded_other = version.upper(), other.upper()
    return (folded > folded_other) - (folded < folded_other)
