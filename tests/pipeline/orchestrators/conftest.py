"""A devhost test engine running the real app with fake activities and skipped time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from devhost.testing import DurableTestHost, OrchestrationResult
from orchestrators.identity import candidate_instance_id, interview_instance_id
from shared.models import BlobRef, CandidateContact, CandidatePipelineInput
from tests.pipeline.orchestrators.fakes import PipelineFakes

JOB_ID = "backend-engineer"


def pipeline_input(resume_name: str = "backend-engineer/ada.pdf") -> CandidatePipelineInput:
    return CandidatePipelineInput(
        job_id=JOB_ID,
        resume=BlobRef(container="resumes", name=resume_name, content_type="application/pdf"),
        contact=CandidateContact(name="Ada Example", phone="+15550101010", time_zone="Europe/Lisbon"),
    )


@dataclass
class Pipeline:
    """A running test host plus the fakes it uses."""

    host: DurableTestHost
    fakes: PipelineFakes

    def start(self, resume_name: str = "backend-engineer/ada.pdf") -> str:
        data = pipeline_input(resume_name)
        instance_id = candidate_instance_id(JOB_ID, data.resume.name)
        return self.host.start("candidate_pipeline", data.model_dump(mode="json"), instance_id=instance_id)

    def run(self, instance_id: str) -> OrchestrationResult:
        return self.host.run_until_complete(instance_id)

    def interview(self, instance_id: str) -> OrchestrationResult:
        return self.host.status(interview_instance_id(instance_id))


@pytest.fixture
def make_pipeline() -> Iterator[Callable[..., Pipeline]]:
    from function_app import app

    hosts: list[DurableTestHost] = []

    def build(**options: Any) -> Pipeline:
        fakes = PipelineFakes(**options)
        host = DurableTestHost(app, fakes=fakes.activities())
        hosts.append(host)
        fakes.raise_event = host.raise_event
        return Pipeline(host, fakes)

    yield build
    for host in hosts:
        host.close()
