"""Find the tagged input sections prompts carry (`<resume_text>...</resume_text>` and friends)."""

from __future__ import annotations

import json
import re
from typing import Any


def find_section(text: str, tag: str) -> str | None:
    """Return the text inside the last `<tag>...</tag>` of `text`, stripped; None when absent."""
    matches = re.findall(
        rf"<{re.escape(tag)}>(.*?)</{re.escape(tag)}>", text, flags=re.DOTALL | re.IGNORECASE
    )
    if not matches:
        return None
    return str(matches[-1]).strip()


def find_json_section(text: str, tag: str) -> Any:
    """Return the parsed JSON inside `<tag>`; None when the section is absent or not JSON."""
    body = find_section(text, tag)
    if body is None:
        return None
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        return None
