"""Token counts for usage and rate limits, with the o200k_base encoding that ships inside `bpe-openai`."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import bpe_openai

# Chat formatting overhead per message and for priming the reply, as OpenAI documents for its chat models.
_TOKENS_PER_MESSAGE = 3
_REPLY_PRIMING_TOKENS = 3


@lru_cache(maxsize=1)
def _encoding() -> Any:
    return bpe_openai.get_encoding("o200k_base")


def count_tokens(text: str) -> int:
    """Count the o200k_base tokens in `text`."""
    if not text:
        return 0
    return len(_encoding().encode(text))


def message_text(content: Any) -> str:
    """Return the text of a message's content (a string, or typed parts whose non-text parts are skipped)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def count_prompt_tokens(messages: list[dict[str, Any]], extras: list[Any]) -> int:
    """Prompt tokens of a chat request: each message's role and text plus tools / response-format schemas."""
    total = _REPLY_PRIMING_TOKENS
    for message in messages:
        total += _TOKENS_PER_MESSAGE + count_tokens(str(message.get("role", "")))
        total += count_tokens(message_text(message.get("content")))
        if isinstance(message.get("name"), str):
            total += 1 + count_tokens(message["name"])
        for call in message.get("tool_calls") or []:
            total += count_tokens(json.dumps(call, sort_keys=True))
    for extra in extras:
        if extra is not None:
            total += count_tokens(json.dumps(extra, sort_keys=True))
    return total
