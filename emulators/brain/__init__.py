"""The deterministic "brain" behind the emulated chat completions.

It recognises a task by the requested schema's name and fills fields by their names from the tagged sections
of the prompt (see docs/EMULATORS.md); any other schema (a developer's own model, a tool it was not taught) is
answered with values drawn from the prompt's text (`emulators.brain.fill`). Every answer is validated against
the requested schema with the `jsonschema` library before it leaves. It never imports pipeline code and never
draws random numbers: the same request always gets the same answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from emulators.brain.fill import fill_from_text
from emulators.brain.interview import score_interview
from emulators.brain.resume import extract_profile
from emulators.brain.schema import JsonSchema, SchemaError, conform, generate, validate
from emulators.brain.screening import screen
from emulators.brain.sections import find_json_section, find_section

__all__ = ["json_object_answer", "structured_answer", "text_answer", "tool_arguments"]


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def _profile_task(prompt: str) -> dict[str, Any]:
    resume = find_section(prompt, "resume_text")
    return extract_profile(resume if resume is not None else prompt)


def _screening_task(prompt: str) -> dict[str, Any]:
    job = find_json_section(prompt, "job")
    profile = find_json_section(prompt, "candidate_profile")
    if not isinstance(profile, dict):
        resume = find_section(prompt, "resume_text")
        profile = extract_profile(resume) if resume is not None else {}
    return screen(job if isinstance(job, dict) else {}, profile)


def _interview_task(prompt: str) -> dict[str, Any]:
    transcript = find_section(prompt, "transcript") or ""
    rubric = find_json_section(prompt, "rubric")
    if not isinstance(rubric, dict):
        job = find_json_section(prompt, "job")
        interview = job.get("interview") if isinstance(job, dict) else None
        rubric = interview if isinstance(interview, dict) else None
    return score_interview(transcript, rubric)


_TASKS: dict[str, Callable[[str], dict[str, Any]]] = {
    "candidateprofile": _profile_task,
    "screeningresult": _screening_task,
    "interviewscore": _interview_task,
}


def structured_answer(schema_name: str, schema: JsonSchema, prompt: str) -> Any:
    """Return a value that validates against `schema`: a task answer fitted to it, or values from the text."""
    task = _TASKS.get(_normalise(schema_name))
    try:
        if task is not None:
            answer = conform(task(prompt), schema)
            if not validate(answer, schema):
                return answer
        drawn = fill_from_text(schema, prompt)
        if not validate(drawn, schema):
            return drawn
        # What the text gave breaks a rule the filler did not foresee: keep what fits, make the rest valid.
        repaired = conform(drawn, schema)
        if not validate(repaired, schema):
            return repaired
        return generate(schema)
    except (SchemaError, RecursionError):
        # An unfollowable schema cannot be honoured; answer with an empty object rather than crash.
        return {}


def tool_arguments(tool_name: str, parameters: JsonSchema, prompt: str) -> dict[str, Any]:
    """Arguments for a function tool call that validate against the tool's parameters schema."""
    value = structured_answer(tool_name, parameters or {"type": "object", "properties": {}}, prompt)
    return value if isinstance(value, dict) else {}


def json_object_answer(prompt: str) -> dict[str, Any]:
    """Answer `response_format={"type": "json_object"}`: a task answer when the prompt carries one."""
    if find_section(prompt, "transcript") is not None:
        return _interview_task(prompt)
    if find_section(prompt, "job") is not None:
        return _screening_task(prompt)
    if find_section(prompt, "resume_text") is not None:
        return _profile_task(prompt)
    words = prompt.split()
    return {"emulated": True, "summary": " ".join(words[:40]), "word_count": len(words)}


def text_answer(prompt: str) -> str:
    """Reply in plain text, saying plainly it comes from the emulator and what it was asked."""
    for task_tag, task in (
        ("transcript", _interview_task),
        ("job", _screening_task),
        ("resume_text", _profile_task),
    ):
        if find_section(prompt, task_tag) is not None:
            return json.dumps(task(prompt), indent=2)
    words = prompt.split()
    preview = " ".join(words[:30]) + (" ..." if len(words) > 30 else "")
    return f"[emulated reply] I received {len(words)} words: {preview}"
