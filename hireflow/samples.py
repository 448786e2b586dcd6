"""The bundled candidates, how each one enters the pipeline, and the terminal state each one must reach.

``samples/candidates.json`` describes the people and their resumes; ``samples/expectations.json`` says how the
demo submits each one (``http``: a JSON reference to a resume already in Blob storage, ``upload``: a multipart
file upload, ``blob``: the resume dropped into the resumes container, picked up by the blob trigger) and what
its pipeline must end with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from azure.storage.blob import BlobServiceClient, ContentSettings

from hireflow.client import HireflowClient
from hireflow.stack import SAMPLES_DIR
from orchestrators.identity import candidate_instance_id

__all__ = [
    "Expectation",
    "Intake",
    "SampleCandidate",
    "load_samples",
    "submit_sample",
    "upload_resume",
]

Intake = Literal["http", "upload", "blob"]
RESUMES_CONTAINER = "resumes"
# The blob trigger reads contact details from these metadata keys (see triggers.intake.METADATA_KEYS).
_METADATA_KEYS = {
    "name": "candidate_name",
    "email": "candidate_email",
    "phone": "candidate_phone",
    "time_zone": "candidate_time_zone",
}
_CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


@dataclass(frozen=True)
class Expectation:
    """The terminal state a candidate must reach; ``None`` fields are not checked."""

    runtime_status: str
    outcome: str | None = None
    screening: str | None = None
    failure_code: str | None = None

    def mismatches(self, view: dict[str, Any]) -> list[str]:
        """Return how the candidate ``view`` (the API's candidate view) differs from this expectation."""
        found = {
            "runtime_status": view.get("runtime_status"),
            "outcome": view.get("outcome"),
            "screening": (view.get("screening") or {}).get("decision"),
            "failure_code": (view.get("failure") or {}).get("code"),
        }
        wanted = {
            "runtime_status": self.runtime_status,
            "outcome": self.outcome,
            "screening": self.screening,
            "failure_code": self.failure_code,
        }
        return [
            f"{name} is {found[name]!r}, expected {value!r}"
            for name, value in wanted.items()
            if value is not None and found[name] != value
        ]

    def describe(self) -> str:
        """Say the expectation in a few words, e.g. ``Completed/interviewed``."""
        detail = self.failure_code or self.outcome
        return f"{self.runtime_status}/{detail}" if detail else self.runtime_status


@dataclass(frozen=True)
class SampleCandidate:
    """One bundled candidate with its intake path and expectation."""

    key: str
    job_id: str
    resume: Path
    name: str
    email: str | None
    phone: str | None
    time_zone: str | None
    intake: Intake
    expectation: Expectation

    @property
    def resume_blob(self) -> str:
        """The blob name this candidate's resume gets in the resumes container (``http`` and ``blob``)."""
        return f"{self.job_id}/{self.key}{self.resume.suffix}"

    def contact_metadata(self) -> dict[str, str]:
        """Blob metadata carrying the contact details, as the blob trigger reads them."""
        values = {"name": self.name, "email": self.email, "phone": self.phone, "time_zone": self.time_zone}
        return {
            key: quote(str(values[field]), safe="") for field, key in _METADATA_KEYS.items() if values[field]
        }


def load_samples(samples_dir: Path = SAMPLES_DIR) -> list[SampleCandidate]:
    """Read ``candidates.json`` and ``expectations.json``; every candidate must have an expectation."""
    people = json.loads((samples_dir / "candidates.json").read_text(encoding="utf-8"))
    expectations = json.loads((samples_dir / "expectations.json").read_text(encoding="utf-8"))
    samples: list[SampleCandidate] = []
    for person in people:
        key = str(person["key"])
        declared = expectations.get(key)
        if not isinstance(declared, dict):
            raise ValueError(f"samples/expectations.json has no entry for candidate {key!r}")
        intake = declared.get("intake", "http")
        if intake not in ("http", "upload", "blob"):
            raise ValueError(f"{key}: intake must be http, upload or blob, not {intake!r}")
        samples.append(
            SampleCandidate(
                key=key,
                job_id=str(person["job_id"]),
                resume=samples_dir / str(person["resume"]),
                name=str(person["name"]),
                email=person.get("email"),
                phone=person.get("phone"),
                time_zone=person.get("time_zone"),
                intake=intake,
                expectation=Expectation(
                    runtime_status=str(declared["runtime_status"]),
                    outcome=declared.get("outcome"),
                    screening=declared.get("screening"),
                    failure_code=declared.get("failure_code"),
                ),
            )
        )
    return samples


def upload_resume(
    blobs: BlobServiceClient,
    sample: SampleCandidate,
    *,
    blob_name: str | None = None,
    with_contact: bool = False,
) -> str:
    """Upload ``sample``'s resume into the resumes container; returns the blob name."""
    container = blobs.get_container_client(RESUMES_CONTAINER)
    if not container.exists():
        container.create_container()
    name = blob_name or sample.resume_blob
    container.upload_blob(
        name,
        sample.resume.read_bytes(),
        overwrite=True,
        metadata=sample.contact_metadata() if with_contact else None,
        content_settings=ContentSettings(content_type=_CONTENT_TYPES.get(sample.resume.suffix.lower())),
    )
    return name


def submit_sample(client: HireflowClient, blobs: BlobServiceClient, sample: SampleCandidate) -> str:
    """Submit ``sample`` through its intake path; returns the candidate (orchestration instance) id.

    A ``blob`` intake only uploads: the blob trigger starts the pipeline, under the id derived from the job
    and the blob name, the same id every intake path derives.
    """
    if sample.intake == "upload":
        return client.submit_file(
            sample.job_id,
            sample.resume,
            name=sample.name,
            email=sample.email,
            phone=sample.phone,
            time_zone=sample.time_zone,
        ).id
    if sample.intake == "http":
        # The upload lands in the watched resumes container, so the blob trigger may start the candidate
        # before the HTTP call does (same instance id, first start wins): the metadata carries the contact.
        blob = upload_resume(blobs, sample, with_contact=True)
        return client.submit_blob(
            sample.job_id,
            name=sample.name,
            resume_blob=blob,
            email=sample.email,
            phone=sample.phone,
            time_zone=sample.time_zone,
        ).id
    blob = upload_resume(blobs, sample, with_contact=True)
    return candidate_instance_id(sample.job_id, blob)
