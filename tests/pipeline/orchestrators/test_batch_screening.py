"""batch_screening on devhost's engine: bounded fan-out of candidate pipelines, ranked fan-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrators.identity import batch_child_instance_id, batch_instance_id
from shared.errors import ErrorCode
from shared.models import BatchCandidate, BatchScreeningInput, BlobRef, CandidateContact
from tests.pipeline.orchestrators.conftest import JOB_ID, Pipeline
from tests.pipeline.orchestrators.fakes import failure

MakePipeline = Callable[..., Pipeline]

RESUMES = ["ana", "ben", "cai", "dee", "eve"]


def _batch(names: list[str], *, max_concurrency: int, shortlist_size: int = 10) -> BatchScreeningInput:
    return BatchScreeningInput(
        job_id=JOB_ID,
        candidates=[
            BatchCandidate(
                resume=BlobRef(container="resumes", name=f"{JOB_ID}/{name}.pdf"),
                contact=CandidateContact(name=name.title(), phone="+15550101010"),
            )
            for name in names
        ],
        max_concurrency=max_concurrency,
        shortlist_size=shortlist_size,
    )


def _max_running_children(history: list[dict[str, Any]]) -> int:
    running = peak = 0
    for event in history:
        if event["EventType"] == 7:  # SubOrchestrationInstanceCreated
            running += 1
            peak = max(peak, running)
        elif event["EventType"] in (8, 9):  # SubOrchestrationInstanceCompleted / Failed
            running -= 1
    return peak


def test_batch_fans_out_with_bounded_concurrency_and_ranks_the_results(make_pipeline: MakePipeline) -> None:
    batch = _batch([*RESUMES, "ana"], max_concurrency=2, shortlist_size=2)  # "ana" twice: runs once
    batch_id = batch_instance_id(JOB_ID, [c.resume.name for c in batch.candidates])
    children = {name: batch_child_instance_id(batch_id, f"{JOB_ID}/{name}.pdf") for name in RESUMES}
    pipeline = make_pipeline()
    scores = {
        "ana": ("advance", 0.9),
        "ben": ("reject", 0.2),
        "cai": ("advance", 0.8),
        "dee": ("advance", 0.95),
    }
    screened = {children[name]: value for name, value in scores.items()}
    pipeline.fakes.screening_by_resume = screened
    eve = children["eve"]
    extract = pipeline.fakes._extract
    pipeline.fakes.overrides["extract_resume_text"] = lambda payload: (
        failure(ErrorCode.CORRUPT_DOCUMENT) if payload["instance_id"] == eve else extract(payload)
    )
    interview_scores = {children["ana"]: 3.5, children["cai"]: 4.5, children["dee"]: 4.0}

    def score(payload: dict[str, Any]) -> dict[str, Any]:
        from tests.pipeline.orchestrators.fakes import INTERVIEW_SCORE

        overall = next(v for k, v in interview_scores.items() if payload["instance_id"] == k)
        return {"score": {**INTERVIEW_SCORE, "overall": overall}}

    pipeline.fakes.overrides["score_transcript"] = score

    pipeline.host.start("batch_screening", batch.model_dump(mode="json"), instance_id=batch_id)
    result = pipeline.host.run_until_complete(batch_id)

    assert result.runtime_status == "Completed", result.output
    shortlist = result.output["shortlist"]
    assert [entry["instance_id"] for entry in shortlist] == [children["cai"], children["dee"]]
    assert [entry["rank"] for entry in shortlist] == [1, 2]
    assert result.output["outcomes"] == {"failed": 1, "interviewed": 3, "rejected_at_screening": 1}
    assert pipeline.fakes.calls["extract_resume_text"] == 5
    assert _max_running_children(pipeline.host.history(batch_id)) == 2
    assert result.custom_status["progress"] == 1.0
    assert pipeline.host.status(eve).runtime_status == "Failed"


def test_empty_batch_completes_with_an_empty_shortlist(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    batch = _batch([], max_concurrency=3)
    instance_id = pipeline.host.start(
        "batch_screening", batch.model_dump(mode="json"), instance_id="x.batch-empty"
    )

    result = pipeline.host.run_until_complete(instance_id)

    assert result.output == {"job_id": JOB_ID, "shortlist": [], "outcomes": {}}
