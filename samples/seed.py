"""Seed the sample job definitions into Blob storage (the jobs container), as the demo and the tests need."""

from __future__ import annotations

from pathlib import Path

from shared.models import BlobRef, JobDefinition
from shared.settings import get_settings
from shared.storage import upload_bytes

JOBS_DIR = Path(__file__).resolve().parent / "jobs"

__all__ = ["JOBS_DIR", "seed_jobs"]


def seed_jobs(directory: Path = JOBS_DIR) -> list[BlobRef]:
    """Validate and upload every ``<job_id>.json`` of ``directory``; returns the written blobs."""
    written: list[BlobRef] = []
    container = get_settings().jobs_container
    for path in sorted(directory.glob("*.json")):
        data = path.read_bytes()
        job = JobDefinition.model_validate_json(data)
        if job.job_id != path.stem:
            raise ValueError(f"{path.name}: job_id {job.job_id!r} does not match the file name")
        written.append(upload_bytes(container, f"{job.job_id}.json", data, content_type="application/json"))
    return written
