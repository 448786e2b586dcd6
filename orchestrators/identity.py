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
import unicodedata
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

JOB_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
"""Job ids are lower-case slugs: safe in blob paths, URLs and instance ids (which forbid ``/ \\ # ?``)."""

RESUME_CONTAINER = "resumes"
MAX_BLOB_NAME_LENGTH = 1024
"""Blob storage's own limit on a blob name."""
MAX_BLOB_NAME_SEGMENTS = 254
"""Blob storage's own limit on path segments in a blob name."""
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_DIGEST_CHARS = 24  # 96 bits of sha256: collisions among one job's resumes are not a practical concern


_DIGEST = rf"[0-9a-f]{{{_DIGEST_CHARS}}}"
_JOB = JOB_ID_PATTERN.pattern.strip("^$")
CANDIDATE_ID_PATTERN = re.compile(rf"^{_JOB}\.(?:batch-{_DIGEST}\.)?{_DIGEST}$")
"""Ids of ``candidate_pipeline`` instances: started on their own, or as a batch's child."""
SCREENING_ID_PATTERN = re.compile(rf"^{_JOB}\.batch-{_DIGEST}$")
"""Ids of ``batch_screening`` instances."""


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

    Names that Blob storage (or a URL parser on the way to it) would fold into another name are refused
    rather than guessed at, so no two spellings of one blob ever derive two instance ids: backslashes (read
    as ``/`` by the service), empty, ``.`` and ``..`` segments, segments ending in a dot (the service trims
    them), percent signs in a bare name (``%2e`` is ``.`` once a URL decodes it), control characters and
    surrounding white space. See :func:`blob_name_problem`.
    """
    # No trimming: a blob name with surrounding white space is another blob (and is refused below).
    text = reference
    if "://" in text:
        path = urlsplit(text).path
        marker = f"/{container}/"
        if marker not in path:
            raise InvalidIdentifierError(f"resume URL is not in the {container!r} container")
        # The URL's path is percent-encoded once; decoding it once gives the blob name it addresses.
        try:
            text = unquote(path.split(marker, 1)[1], errors="strict")
        except UnicodeDecodeError as error:
            raise InvalidIdentifierError("resume URL is not percent-encoded UTF-8") from error
    elif text.startswith("/"):
        text = text[1:]
    if text.startswith(f"{container}/"):
        text = text[len(container) + 1 :]
    problem = blob_name_problem(text)
    if problem is not None:
        raise InvalidIdentifierError(f"resume reference names no single blob: {problem}")
    return text


def blob_name_problem(name: str) -> str | None:
    """Say why ``name`` is not a canonical blob name (one that no other spelling aliases), or None."""
    if not name:
        return "the name is empty"
    if len(name) > MAX_BLOB_NAME_LENGTH:
        return f"the name is longer than {MAX_BLOB_NAME_LENGTH} characters"
    if name != name.strip():
        return "the name starts or ends with white space"
    if "\\" in name:
        return "backslashes are read as '/' by Blob storage; use '/'"
    if "%" in name:
        return "'%' is refused in blob names: percent-encoding would make two names of one blob"
    if any(unicodedata.category(char) in _CONTROL_CATEGORIES for char in name):
        return "control or formatting characters are refused in blob names"
    segments = name.split("/")
    if len(segments) > MAX_BLOB_NAME_SEGMENTS:
        return f"more than {MAX_BLOB_NAME_SEGMENTS} path segments"
    for segment in segments:
        if segment in ("", ".", ".."):
            return "empty, '.' and '..' path segments are refused"
        if segment.endswith(".") or segment != segment.strip():
            return "path segments may not end with a dot or white space (Blob storage trims them)"
    return None


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


def validate_candidate_instance_id(instance_id: str) -> str:
    """Return ``instance_id`` when it has the shape :func:`candidate_instance_id` (or a batch) gives."""
    if not CANDIDATE_ID_PATTERN.fullmatch(instance_id):
        raise InvalidIdentifierError("not a candidate id: <job id>.<24 hex digits>, or a batch child's id")
    return instance_id


def validate_screening_instance_id(instance_id: str) -> str:
    """Return ``instance_id`` when it has the shape :func:`batch_instance_id` gives."""
    if not SCREENING_ID_PATTERN.fullmatch(instance_id):
        raise InvalidIdentifierError("not a screening id: <job id>.batch-<24 hex digits>")
    return instance_id


def job_id_of_instance(instance_id: str) -> str:
    """Return the job id every id of this module starts with (candidate, batch, child and interview ids)."""
    return validate_job_id(instance_id.split(".", 1)[0])
