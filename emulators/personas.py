"""Who picks up when the ACS emulator places a call, and what they say.

A personas file (JSON) maps call targets (E.164 phone numbers like ``+14255550101`` or ACS user ids like
``8:acs:...``) to a behaviour and spoken answers, one per question index::

    {"default": {"behaviour": "answers_well", "answers": ["..."]},
     "personas": {"+14255550101": {"behaviour": "answers_well", "answers": ["...", "..."]},
                  "+14255550103": {"behaviour": "no_answer"},
                  "+14255550105": {"behaviour": "hangs_up_early", "hang_up_after_questions": 1},
                  "+14255550106": {"behaviour": "very_long", "min_recording_s": 7200},
                  "+14255550107": {"behaviour": "answers_well", "recording_chunks": 2}}}

A target no persona names gets ``default`` (answers, with plausible answers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

DEFAULT_PERSONAS_PATH = Path(__file__).with_name("default_personas.json")

_GENERIC_ANSWERS = (
    "I have several years of experience in this field and I enjoy solving practical problems with my team.",
    "In my previous role I delivered a project on time by breaking it into small steps and testing each one.",
    "I handle disagreements by listening first, then looking at the data together.",
    "I keep learning through courses and side projects.",
    "I am available to start soon.",
)


class Behaviour(StrEnum):
    """How a persona handles a call."""

    ANSWERS_WELL = "answers_well"
    ANSWERS_POORLY = "answers_poorly"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    HANGS_UP_EARLY = "hangs_up_early"
    VERY_LONG = "very_long"

    @property
    def answers_call(self) -> bool:
        """Whether the call connects at all."""
        return self not in (Behaviour.NO_ANSWER, Behaviour.BUSY)


@dataclass(frozen=True)
class Persona:
    """One callee: behaviour and the answer to each question index."""

    target: str
    behaviour: Behaviour
    answers: tuple[str, ...] = field(default_factory=tuple)
    name: str = ""
    hang_up_after_questions: int = 1
    min_recording_s: float = 0.0
    recording_chunks: int = 1
    """How many chunks (separate documents) ACS splits this call's recording into."""

    def answer(self, question_index: int) -> str:
        """Return the spoken answer to the question at ``question_index`` (0-based); never empty."""
        if question_index < len(self.answers):
            return self.answers[question_index]
        if self.behaviour is Behaviour.ANSWERS_POORLY:
            return "I do not know."
        if self.answers and self.behaviour is Behaviour.VERY_LONG:
            return self.answers[question_index % len(self.answers)]
        return _GENERIC_ANSWERS[question_index % len(_GENERIC_ANSWERS)]


@dataclass(frozen=True)
class PersonaBook:
    """All personas of a file, and the fallback for unknown targets."""

    personas: dict[str, Persona]
    default: Persona

    def for_target(self, raw_id: str) -> Persona:
        """Return the persona for a target raw id (``4:+1425...`` or ``8:acs:...``) or bare phone number."""
        key = raw_id[2:] if raw_id.startswith("4:") else raw_id
        found = self.personas.get(key)
        if found is not None:
            return found
        return Persona(
            target=key,
            behaviour=self.default.behaviour,
            answers=self.default.answers,
            name=self.default.name or "default",
            hang_up_after_questions=self.default.hang_up_after_questions,
            min_recording_s=self.default.min_recording_s,
            recording_chunks=self.default.recording_chunks,
        )


def _persona(target: str, raw: dict[str, Any]) -> Persona:
    answers = raw.get("answers", [])
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise ValueError(f"persona {target!r}: 'answers' must be a list of strings")
    return Persona(
        target=target,
        behaviour=Behaviour(raw.get("behaviour", Behaviour.ANSWERS_WELL)),
        answers=tuple(answers),
        name=str(raw.get("name", "")),
        hang_up_after_questions=int(raw.get("hang_up_after_questions", 1)),
        min_recording_s=float(raw.get("min_recording_s", 0.0)),
        recording_chunks=max(1, int(raw.get("recording_chunks", 1))),
    )


def load_personas(path: Path | None = None) -> PersonaBook:
    """Load a personas file (the packaged default when ``path`` is None); ValueError if malformed."""
    source = path or DEFAULT_PERSONAS_PATH
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{source}: not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise ValueError(f"{source}: expected a JSON object")
    personas = {str(k): _persona(str(k), v) for k, v in document.get("personas", {}).items()}
    default = _persona("default", document.get("default", {"behaviour": "answers_well"}))
    return PersonaBook(personas=personas, default=default)
