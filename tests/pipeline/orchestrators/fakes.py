"""Fake activities for the orchestrator tests, registered under the real activity names.

Every fake returns what the real activity's output model allows, counts its calls and records its inputs.
The call fakes play ACS's part too: on ``place_interview_call`` they raise the events a real call would cause
(``CallConnected``, ``CallEnded``, ``RecordingReady``, or ``CallFailed``) on the interview instance, so the
orchestrator sees them the way it would on Azure: as external events arriving while it waits.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shared.errors import ErrorCode, TransientError

PROFILE: dict[str, Any] = {
    "full_name": "Ada Example",
    "email": "ada@example.test",
    "phone": "+15550101010",
    "location": "Lisbon",
    "headline": "Backend engineer",
    "skills": ["python", "azure"],
    "total_years_experience": 6.0,
    "experience": [
        {
            "title": "Engineer",
            "company": "Example Ltd",
            "start_date": "2019-01",
            "end_date": None,
            "years": 6.0,
            "highlights": ["built pipelines"],
        }
    ],
    "education": [],
}

INTERVIEW_SCORE: dict[str, Any] = {
    "overall": 4.0,
    "dimensions": [
        {"name": "python", "score": 4, "evidence": ["I write Python daily."], "comment": "solid"},
    ],
    "narrative": "A clear, experienced candidate.",
    "recommendation": "hire",
    "recommendations": ["Proceed to the team interview."],
}

# What the callee does for each call attempt: answer (and the recording arrives), answer but no recording
# ever arrives, decline (CreateCallFailed) or let it ring out (no event at all).
ANSWER = "answer"
ANSWER_NO_RECORDING = "answer_no_recording"
DECLINE = "decline"
RING_OUT = "ring_out"


def screening(decision: str, score: float) -> dict[str, Any]:
    """A ``ScreeningResult`` body with ``decision`` and ``score``."""
    return {
        "decision": decision,
        "score": score,
        "matched_must_have": ["python"],
        "missing_must_have": [] if decision == "advance" else ["kubernetes"],
        "matched_nice_to_have": [],
        "years_required": 3.0,
        "years_found": 6.0,
        "rationale": "fake screening",
    }


def failure(code: ErrorCode, message: str = "fake permanent failure") -> dict[str, Any]:
    """An activity output carrying a typed permanent failure."""
    return {"failure": {"code": code.value, "message": message}}


class PipelineFakes:
    """Configurable fakes for every activity the pipeline calls; ``raise_event`` is wired to the test host."""

    def __init__(
        self,
        *,
        decision: str = "advance",
        score: float = 0.85,
        call_script: list[str] | None = None,
        screening_by_resume: dict[str, tuple[str, float]] | None = None,
    ) -> None:
        self.decision = decision
        self.score = score
        self.call_script = call_script or [ANSWER]
        self.screening_by_resume = screening_by_resume or {}
        self.calls: Counter[str] = Counter()
        self.inputs: dict[str, list[Any]] = defaultdict(list)
        self.raise_event: Callable[[str, str, Any], None] = _unwired
        self.overrides: dict[str, Callable[[dict[str, Any]], Any]] = {}
        self.on_schedule: Callable[[dict[str, Any]], None] | None = None
        self._lock = threading.Lock()

    def _record(self, name: str, payload: dict[str, Any]) -> Callable[[dict[str, Any]], Any] | None:
        with self._lock:
            self.calls[name] += 1
            self.inputs[name].append(payload)
        return self.overrides.get(name)

    def _wrap(self, name: str, default: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        def fake(payload: dict[str, Any]) -> Any:
            override = self._record(name, payload)
            return override(payload) if override is not None else default(payload)

        return fake

    def activities(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        """The fakes by activity name, for ``DurableTestHost(fakes=...)``."""
        defaults: dict[str, Callable[[dict[str, Any]], Any]] = {
            "extract_resume_text": self._extract,
            "parse_candidate_profile": lambda _: {"profile": PROFILE},
            "screen_candidate": self._screen,
            "schedule_interview": self._schedule,
            "place_interview_call": self._place_call,
            "start_call_recording": lambda _: {"recording_id": "recording-1"},
            "hang_up_call": lambda _: {"hung_up": True},
            "fetch_call_recording": self._fetch_recording,
            "transcribe_recording": self._transcribe,
            "score_transcript": lambda _: {"score": INTERVIEW_SCORE},
            "write_candidate_report": self._write_report,
        }
        return {name: self._wrap(name, default) for name, default in defaults.items()}

    # ------------------------------------------------------------------ defaults

    @staticmethod
    def _extract(payload: dict[str, Any]) -> dict[str, Any]:
        instance = payload["instance_id"]
        return {
            "text": {
                "container": "artifacts",
                "name": f"{instance}/resume.txt",
                "page_count": 2,
                "char_count": 900,
            }
        }

    def _screen(self, payload: dict[str, Any]) -> dict[str, Any]:
        instance = payload["instance_id"]
        for marker, (decision, score) in self.screening_by_resume.items():
            if marker in instance:
                return {"result": screening(decision, score)}
        return {"result": screening(self.decision, self.score)}

    def _schedule(self, payload: dict[str, Any]) -> dict[str, Any]:
        if self.on_schedule is not None:
            self.on_schedule(payload)
        now = datetime.fromisoformat(payload["now"])
        not_before = payload.get("not_before")
        start = (
            max(now + timedelta(days=1), datetime.fromisoformat(not_before))
            if not_before
            else now + timedelta(days=1)
        )
        start = start + timedelta(hours=payload.get("attempt", 0))
        return {
            "slot": {
                "start": start.isoformat(),
                "end": (start + timedelta(minutes=30)).isoformat(),
                "interviewer": "Grace",
                "candidate_time_zone": payload.get("candidate_time_zone", "UTC"),
            }
        }

    def _place_call(self, payload: dict[str, Any]) -> dict[str, Any]:
        instance = payload["instance_id"]
        attempt = int(payload.get("attempt", 0))
        call_id = f"call-{attempt}"
        server_call_id = f"server-{attempt}"
        behaviour = self.call_script[min(attempt, len(self.call_script) - 1)]
        if behaviour in (ANSWER, ANSWER_NO_RECORDING):
            self.raise_event(
                instance, "CallConnected", {"call_connection_id": call_id, "server_call_id": server_call_id}
            )
            self.raise_event(instance, "CallEnded", {"call_connection_id": call_id, "reason": "hung up"})
            if behaviour == ANSWER:
                chunk = {"document_id": f"doc-{attempt}", "index": 0, "content_location": "https://x/audio"}
                self.raise_event(
                    instance, "RecordingReady", {"server_call_id": server_call_id, "chunks": [chunk]}
                )
        elif behaviour == DECLINE:
            self.raise_event(
                instance, "CallFailed", {"call_connection_id": call_id, "code": 486, "message": "busy"}
            )
        return {
            "call_connection_id": call_id,
            "server_call_id": server_call_id,
            "operation_context": f"ctx-{attempt}",
        }

    @staticmethod
    def _fetch_recording(payload: dict[str, Any]) -> dict[str, Any]:
        instance = payload["instance_id"]
        chunks = payload["recording"]["chunks"]
        refs = [{"container": "recordings", "name": f"{instance}/{c['index']}.wav"} for c in chunks]
        return {"chunks": refs, "total_bytes": 1000 * len(refs)}

    @staticmethod
    def _transcribe(payload: dict[str, Any]) -> dict[str, Any]:
        instance = payload["instance_id"]
        return {
            "transcript": {
                "container": "artifacts",
                "name": f"{instance}/transcript.json",
                "segment_count": 6,
            }
        }

    @staticmethod
    def _write_report(payload: dict[str, Any]) -> dict[str, Any]:
        instance = payload["instance_id"]
        return {
            "report_json": {"container": "reports", "name": f"{instance}/report.json"},
            "report_page": {"container": "reports", "name": f"{instance}/report.html"},
        }


def _unwired(instance_id: str, name: str, data: Any) -> None:
    raise AssertionError("PipelineFakes.raise_event was not wired to a host")


def transient_then(times: int, result: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """A fake that raises a transient fault ``times`` times, then returns ``result(payload)``."""
    state = {"failures": 0}

    def fake(payload: dict[str, Any]) -> Any:
        if state["failures"] < times:
            state["failures"] += 1
            raise TransientError(ErrorCode.SERVICE_UNAVAILABLE, "fake 503")
        return result(payload)

    return fake
