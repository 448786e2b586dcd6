"""Job definitions from Blob storage (seeded from ``samples/jobs``)."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities._common import run_activity
from shared.models import LoadJobInput, LoadJobOutput
from shared.storage import load_job as read_job

__all__ = ["bp", "load_job_service"]

bp = df.Blueprint()


def load_job_service(request: LoadJobInput) -> LoadJobOutput:
    """Read and validate the job definition; an unknown job is the permanent failure ``job_not_found``."""
    return LoadJobOutput(job=read_job(request.job_id))


@bp.activity_trigger(input_name="payload")
def load_job(payload: Any) -> dict[str, Any]:
    """Load a job definition; ``LoadJobInput`` → ``LoadJobOutput``."""
    return run_activity("load_job", payload, LoadJobInput, LoadJobOutput, load_job_service)
