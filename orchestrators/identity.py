"""Deterministic instance ids: the same resume for the same job always names the same orchestration.

Every start path (HTTP, blob trigger, Event Grid ``BlobCreated``) derives the id from the job id and the
resume's blob name, so a re-fired trigger finds the instance the first one started instead of starting a
second run. Ids are ``<job_id>.<digest>``: the job id prefix lets the list endpoint ask the durable store
for one job's instances (``instanceIdPrefix``), and job ids cannot contain ``.``, so one job's prefix never
matches another's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

JOB_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
"""Job ids are lower-case slugs: safe in blob paths, URLs and instance ids (which forbid ``/ \\ # ?``)."""

RESUME_CONTAINER = "resumes"
_DIGEST_CHARS = 24  # 96 bits of sha256: collisions among one job's resumes are not a practical concern


class InvalidIdentifierError(ValueError):
    """A job id or resume reference cannot name an instance."""


def validate_job_id(job_id: str) -> str:
    """Return ``job_id`` when it is a valid job slug, else raise ``InvalidIdentifierError``."""
    if not JOB_ID_PATTERN.fullmatch(job_id):
        raise InvalidIdentifierError(f"job id {job_id!r} must match {JOB_ID_PATTERN.pattern}")
    return job_id


def normalize_resume_blob(reference: str, container: str = RESUME_CONTAINER) -> str:
    """Return the blob name inside the resumes ``container`` that ``reference`` points at.

    Accepts a bare blob name (``job/cv.pdf``), a container-qualified path (``resumes/job/cv.pdf``) or a blob
    URL (``https://acct.blob.core.windows.net/resumes/job/cv.pdf``, Azurite's ``http://host/acct/resumes/...``
    too). Normalizing first is what makes the HTTP and blob paths agree on one id.
    """
    text = reference.strip()
    if "://" in text:
        path = unquote(urlsplit(text).path)
        marker = f"/{container}/"
        if marker not in path:
            raise InvalidIdentifierError(f"resume URL is not in the {container!r} container")
        text = path.split(marker, 1)[1]
    text = text.lstrip("/")
    if text.startswith(f"{container}/"):
        text = text[len(container) + 1 :]
    if not text or text.endswith("/") or ".." in text.split("/"):
        raise InvalidIdentifierError(f"resume reference {reference!r} names no blob")
    return text


def _digest(*parts: str) -> str:
    joined = "\n".join(parts).encode("utf-8")
    return hashlib.sha256(joined).hexdigest()[:_DIGEST_CHARS]


def job_instance_prefix(job_id: str) -> str:
    """Return the prefix every candidate instance id of ``job_id`` starts with."""
    return f"{validate_job_id(job_id)}."


def candidate_instance_id(job_id: str, resume_blob: str) -> str:
    """Return the ``candidate_pipeline`` instance id for ``resume_blob`` applied to ``job_id``."""
    return f"{job_instance_prefix(job_id)}{_digest(job_id, normalize_resume_blob(resume_blob))}"


def batch_instance_id(job_id: str, resume_blobs: Iterable[str]) -> str:
    """Return the ``batch_screening`` instance id for one job and one set of resumes (order-insensitive)."""
    names = sorted({normalize_resume_blob(blob) for blob in resume_blobs})
    return f"{job_instance_prefix(job_id)}batch-{_digest(job_id, 'batch', *names)}"


def batch_child_instance_id(batch_id: str, resume_blob: str) -> str:
    """Return the id of the ``candidate_pipeline`` sub-orchestration a batch runs for ``resume_blob``.

    Scoped by the batch's own id: a sub-orchestration cannot reuse the id of a candidate already started on
    its own, and a replayed batch must name the very same children it named the first time.
    """
    return f"{batch_id}.{_digest(batch_id, normalize_resume_blob(resume_blob))}"


def interview_instance_id(candidate_id: str) -> str:
    """Return the id of the ``interview`` sub-orchestration of candidate instance ``candidate_id``."""
    return f"{candidate_id}.interview"


def job_id_of_instance(instance_id: str) -> str:
    """Return the job id every id of this module starts with (candidate, batch, child and interview ids)."""
    return validate_job_id(instance_id.split(".", 1)[0])
