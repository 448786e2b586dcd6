"""Reading how deeply a JSON body nests before parsing it, so a hostile body is refused cheaply.

``json.loads`` recurses once per level: a body of a million ``[`` would exhaust the stack long before it
reached anything the app reads. Endpoints that take JSON from outside (the HTTP API, the ACS callbacks)
scan the raw bytes first. The scan works on UTF-8 bytes as they arrive: every byte of a multi-byte
character is 0x80 or above, so quotes, backslashes and brackets are never mistaken inside one.
"""

from __future__ import annotations

__all__ = ["json_nesting_depth"]

_QUOTE, _BACKSLASH = 0x22, 0x5C
_OPENING, _CLOSING = (0x5B, 0x7B), (0x5D, 0x7D)


def json_nesting_depth(raw: bytes, *, stop_after: int) -> int:
    """Return the deepest ``[``/``{`` nesting in ``raw``, ignoring brackets inside strings.

    The scan is linear and ends as soon as the depth passes ``stop_after`` (returning ``stop_after + 1``):
    callers only need to know that the body nests too deeply.
    """
    depth = deepest = 0
    in_string = escaped_char = False
    for byte in raw:
        if in_string:
            if escaped_char:
                escaped_char = False
            elif byte == _BACKSLASH:
                escaped_char = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPENING:
            depth += 1
            deepest = max(deepest, depth)
            if deepest > stop_after:
                return deepest
        elif byte in _CLOSING:
            depth -= 1
    return deepest
