"""Domain views of orchestration statuses: what the HTTP API shows about a candidate or a batch.

Pure functions over :class:`InstanceSnapshot` (a plain copy of the SDK's status object), so the mapping from
durable state to the API's JSON is tested without a host.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from orchestrators.candidate_pipeline import ORCHESTRATOR_NAME as CANDIDATE_PIPELINE
from orchestrators.steps import as_json_value
from shared.errors import ErrorCode, error_code_from_exception_message
from shared.models import (
    BatchScreeningOutput,
    BlobRef,
    CandidateReport,
    IntakePath,
    PipelineStatus,
    Stage,
)

_OUT_OF_PROC_MARKER = "$OutOfProcData$"


INTERVIEW_STAGES = frozenset(
    {
        Stage.SCHEDULING,
        Stage.WAITING_FOR_SLOT,
        Stage.CALLING,
        Stage.IN_CALL,
        Stage.AWAITING_RECORDING,
        Stage.FETCHING_RECORDING,
    }
)
"""Parent stages during which the ``interview`` sub-orchestration holds the finer-grained status."""

BlobUrl = Callable[[BlobRef], str | None]


@dataclass(frozen=True)
class InstanceSnapshot:
    """The parts of an orchestration status the views read."""

    instance_id: str
    name: str | None
    runtime_status: str | None
    created_time: datetime | None
    last_updated_time: datetime | None
    custom_status: Any
    output: Any
    input: Any = None

    @classmethod
    def from_status(cls, status: Any) -> InstanceSnapshot:
        """Copy the SDK's ``DurableOrchestrationStatus``."""
        runtime_status = status.runtime_status
        return cls(
            instance_id=str(status.instance_id),
            name=status.name,
            runtime_status=None
            if runtime_status is None
            else str(getattr(runtime_status, "value", runtime_status)),
            created_time=status.created_time,
            last_updated_time=status.last_updated_time,
            custom_status=as_json_value(status.custom_status),
            output=as_json_value(status.output),
            input=as_json_value(status.input_),
        )

    @property
    def is_running(self) -> bool:
        """True while the instance can still receive events (pending, running or suspended)."""
        return self.runtime_status in {"Pending", "Running", "Suspended"}


def intake_of(snapshot: InstanceSnapshot) -> str | None:
    """How the candidate's resume arrived (an :class:`shared.models.IntakePath` value), or None if unrecorded.

    Start paths record it on the pipeline's input (read with the status's input). A batch's children are
    named by the batch (``<job>.batch-<digest>.<digest>``), so their id says it as surely as a field would.
    Instances started before the field existed, or by a path that does not record it yet, give None.
    """
    recorded = snapshot.input.get("intake") if isinstance(snapshot.input, dict) else None
    if isinstance(recorded, str) and recorded:
        return recorded
    if ".batch-" in snapshot.instance_id and snapshot.name in (None, CANDIDATE_PIPELINE):
        return IntakePath.BATCH.value
    return None


def _pipeline_status(snapshot: InstanceSnapshot | None) -> PipelineStatus | None:
    if snapshot is None or not isinstance(snapshot.custom_status, dict):
        return None
    try:
        return PipelineStatus.model_validate(snapshot.custom_status)
    except ValidationError:
        return None


def failure_from_output(output: Any) -> dict[str, str] | None:
    """Read a Failed instance's reason out of its output (``[error:<code>] <step>: <message>``)."""
    if output is None:
        return None
    text = output if isinstance(output, str) else str(output)
    text = text.split(_OUT_OF_PROC_MARKER, 1)[0].strip()
    code = error_code_from_exception_message(text) or ErrorCode.INTERNAL
    message = text.replace(f"[error:{code.value}]", "", 1).strip() if code is not ErrorCode.INTERNAL else text
    return {"code": code.value, "message": message[:2000]}


def _ref_view(ref: BlobRef | None, blob_url: BlobUrl) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {"container": ref.container, "name": ref.name, "url": blob_url(ref)}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def candidate_view(
    snapshot: InstanceSnapshot,
    *,
    interview: InstanceSnapshot | None = None,
    blob_url: BlobUrl = lambda _ref: None,
    base_path: str = "/api",
) -> dict[str, Any]:
    """Build the view of one candidate: stage, progress, timestamps, scores, report link, failure reason."""
    status = _pipeline_status(snapshot)
    report: CandidateReport | None = None
    if snapshot.runtime_status == "Completed" and isinstance(snapshot.output, dict):
        try:
            report = CandidateReport.model_validate(snapshot.output)
        except ValidationError:
            report = None

    stage = status.stage if status else Stage.RECEIVED
    view: dict[str, Any] = {
        "id": snapshot.instance_id,
        "job_id": (status.job_id if status else None) or (report.job_id if report else None),
        "intake": intake_of(snapshot),
        "runtime_status": snapshot.runtime_status,
        "stage": stage.value,
        "progress": status.progress if status else 0.0,
        "detail": status.detail if status else None,
        "created_at": _iso(snapshot.created_time),
        "updated_at": _iso(snapshot.last_updated_time),
        "stage_updated_at": _iso(status.updated_at) if status else None,
        "outcome": report.outcome.value if report else None,
        "screening": None,
        "interview": None,
        "report": None,
        "failure": None,
    }
    if isinstance(snapshot.input, dict) and view["job_id"] is None:
        view["job_id"] = snapshot.input.get("job_id")

    screening_score = (report.screening_score if report else None) or (
        status.screening_score if status else None
    )
    screening_decision = (report.screening_decision if report else None) or (
        status.screening_decision if status else None
    )
    if screening_score is not None or screening_decision is not None:
        view["screening"] = {
            "score": screening_score,
            "decision": screening_decision.value if screening_decision else None,
        }

    interview_status = _pipeline_status(interview)
    if interview_status is not None and stage in INTERVIEW_STAGES and interview and interview.is_running:
        view["stage"] = interview_status.stage.value
        view["progress"] = interview_status.progress
        view["detail"] = interview_status.detail
        view["stage_updated_at"] = _iso(interview_status.updated_at)
    interview_overall = (report.interview_overall if report else None) or (
        status.interview_overall if status else None
    )
    slot_start = (interview_status.slot_start if interview_status else None) or (
        status.slot_start if status else None
    )
    call_attempt = interview_status.call_attempt if interview_status else None
    if interview_overall is not None or slot_start is not None or call_attempt is not None:
        view["interview"] = {
            "overall": interview_overall,
            "recommendation": report.recommendation.value if report and report.recommendation else None,
            "slot_start": _iso(slot_start),
            "call_attempts": call_attempt,
            "incomplete_reason": report.interview_incomplete_reason if report else None,
        }

    if report is not None and (report.report_json or report.report_page):
        view["report"] = {
            "json": _ref_view(report.report_json, blob_url),
            "page": _ref_view(report.report_page, blob_url),
        }
    elif status is not None and status.report is not None:
        view["report"] = {"json": None, "page": _ref_view(status.report, blob_url)}

    if report is not None and report.failure is not None:
        view["failure"] = report.failure.model_dump(mode="json")
    elif snapshot.runtime_status == "Failed":
        view["stage"] = Stage.FAILED.value
        view["progress"] = 1.0
        view["failure"] = failure_from_output(snapshot.output) or (
            status.failure.model_dump(mode="json") if status and status.failure else None
        )
    elif snapshot.runtime_status == "Terminated":
        reason = snapshot.output if isinstance(snapshot.output, str) else None
        view["outcome"] = "cancelled"
        view["failure"] = {"code": "cancelled", "message": reason or "cancelled"}

    view["links"] = {
        "self": f"{base_path}/candidates/{snapshot.instance_id}",
        "events": f"{base_path}/candidates/{snapshot.instance_id}/events/{{name}}",
        "cancel": f"{base_path}/candidates/{snapshot.instance_id}/cancel",
        "report": f"{base_path}/candidates/{snapshot.instance_id}/report" if view["report"] else None,
    }
    return view


def screening_view(snapshot: InstanceSnapshot) -> dict[str, Any]:
    """Build the view of a ``batch_screening`` instance: progress while running, the shortlist once done."""
    status = _pipeline_status(snapshot)
    view: dict[str, Any] = {
        "id": snapshot.instance_id,
        "runtime_status": snapshot.runtime_status,
        "progress": status.progress if status else 0.0,
        "detail": status.detail if status else None,
        "created_at": _iso(snapshot.created_time),
        "updated_at": _iso(snapshot.last_updated_time),
        "result": None,
        "failure": None,
    }
    if snapshot.runtime_status == "Completed" and isinstance(snapshot.output, dict):
        try:
            view["result"] = BatchScreeningOutput.model_validate(snapshot.output).model_dump(mode="json")
        except ValidationError:
            view["result"] = None
    elif snapshot.runtime_status == "Failed":
        view["failure"] = failure_from_output(snapshot.output)
    return view
