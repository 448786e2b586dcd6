"""``batch_screening``: run ``candidate_pipeline`` for many resumes of one job and rank the results.

Input
    :class:`shared.models.BatchScreeningInput` (job id, candidates with their resume blobs and contact
    details, ``max_concurrency``, ``shortlist_size``).
Output
    :class:`shared.models.BatchScreeningOutput`: the shortlist ranked by ``shared.decisions.rank_candidates``
    and the count of candidates per outcome. A child that failed counts as ``failed``; it never fails
    the batch.
Sub-orchestrations
    ``candidate_pipeline`` per distinct resume, at most ``max_concurrency`` running at once: a window that
    starts the next child as soon as one finishes (fan-out bounded, fan-in as results arrive).
Events and timers
    None of its own; every wait inside a child has its own deadline, so the batch always finishes.
Custom status
    :class:`shared.models.PipelineStatus` with stage ``screening``, progress = finished / total.
Idempotency
    Child instance ids derive from the batch instance id and the resume blob
    (:func:`orchestrators.identity.batch_child_instance_id`): a replay names the same children, and a resume
    listed twice runs once.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from orchestrators.candidate_pipeline import ORCHESTRATOR_NAME as CANDIDATE_PIPELINE
from orchestrators.identity import batch_child_instance_id
from orchestrators.steps import as_json_value, failure_from_task_error, log_progress, parse_model
from shared.decisions import outcome_counts, rank_candidates
from shared.models import (
    BatchCandidate,
    BatchScreeningInput,
    BatchScreeningOutput,
    CandidateOutcome,
    CandidatePipelineInput,
    CandidateReport,
    PipelineStatus,
    Stage,
)

ORCHESTRATOR_NAME = "batch_screening"

bp = df.Blueprint()


def _distinct_children(batch_id: str, candidates: list[BatchCandidate]) -> list[tuple[str, BatchCandidate]]:
    seen: dict[str, BatchCandidate] = {}
    for candidate in candidates:
        child_id = batch_child_instance_id(batch_id, candidate.resume.name)
        seen.setdefault(child_id, candidate)
    return list(seen.items())


def _publish(context: df.DurableOrchestrationContext, job_id: str, finished: int, total: int) -> None:
    done = Stage.COMPLETED if finished == total else Stage.SCREENING
    status = PipelineStatus(
        stage=done,
        progress=1.0 if total == 0 else finished / total,
        job_id=job_id,
        updated_at=context.current_utc_datetime,
        detail=f"{finished} of {total} candidates finished",
    )
    context.set_custom_status(status.model_dump(mode="json", exclude_none=True))


def _failed_report(child_id: str, job_id: str, error: BaseException) -> CandidateReport:
    return CandidateReport(
        instance_id=child_id,
        job_id=job_id,
        outcome=CandidateOutcome.FAILED,
        stage=Stage.FAILED,
        failure=failure_from_task_error(CANDIDATE_PIPELINE, error),
    )


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR_NAME)
def batch_screening(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Fan out one ``candidate_pipeline`` per resume with bounded concurrency; fan in a ranked shortlist."""
    batch = parse_model(BatchScreeningInput, context.get_input())
    children = _distinct_children(context.instance_id, batch.candidates)
    total = len(children)
    reports: list[CandidateReport] = []
    running: list[tuple[str, Any]] = []
    next_child = 0
    _publish(context, batch.job_id, 0, total)
    log_progress(context, "screening %d candidates, at most %d at once", total, batch.max_concurrency)

    while next_child < total or running:
        while next_child < total and len(running) < batch.max_concurrency:
            child_id, candidate = children[next_child]
            child_input = CandidatePipelineInput(
                job_id=batch.job_id,
                resume=candidate.resume,
                contact=candidate.contact,
                submitted_at=context.current_utc_datetime,
            )
            task = context.call_sub_orchestrator(
                CANDIDATE_PIPELINE, child_input.model_dump(mode="json"), child_id
            )
            running.append((child_id, task))
            next_child += 1
        # task_any hands back the first child to finish, failed or not; its siblings keep running and are
        # offered again in the next round (a child that already finished completes that round at once).
        winner = yield context.task_any([task for _, task in running])
        position = next(index for index, (_, task) in enumerate(running) if task is winner)
        child_id, _ = running.pop(position)
        if isinstance(winner.result, Exception):
            reports.append(_failed_report(child_id, batch.job_id, winner.result))
        else:
            reports.append(parse_model(CandidateReport, as_json_value(winner.result)))
        _publish(context, batch.job_id, len(reports), total)

    output = BatchScreeningOutput(
        job_id=batch.job_id,
        shortlist=rank_candidates(reports, shortlist_size=batch.shortlist_size),
        outcomes=outcome_counts(reports),
    )
    log_progress(context, "batch finished: %d shortlisted of %d", len(output.shortlist), total)
    return output.model_dump(mode="json")
