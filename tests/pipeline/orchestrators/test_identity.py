"""Instance ids: deterministic, prefix-scoped per job, and the same for every way of naming one resume."""

from __future__ import annotations

import pytest

from orchestrators.identity import (
    InvalidIdentifierError,
    batch_child_instance_id,
    batch_instance_id,
    candidate_instance_id,
    interview_instance_id,
    job_id_of_instance,
    job_instance_prefix,
    normalize_resume_blob,
)


def test_every_name_of_one_resume_gives_one_instance_id() -> None:
    names = [
        "job-a/cv.pdf",
        "/job-a/cv.pdf",
        "resumes/job-a/cv.pdf",
        "https://acct.blob.core.windows.net/resumes/job-a/cv.pdf",
        "http://127.0.0.1:10000/devstoreaccount1/resumes/job-a/cv.pdf",
    ]
    ids = {candidate_instance_id("job-a", name) for name in names}

    assert len(ids) == 1
    assert next(iter(ids)).startswith("job-a.")
    assert candidate_instance_id("job-a", "job-a/other.pdf") not in ids
    assert candidate_instance_id("job-b", "job-a/cv.pdf") not in ids


def test_urls_resolve_against_the_configured_container() -> None:
    url = "http://127.0.0.1:10000/devstoreaccount1/resumes-x1/job-a/cv%20v2.pdf"
    assert normalize_resume_blob(url, "resumes-x1") == "job-a/cv v2.pdf"
    with pytest.raises(InvalidIdentifierError):
        normalize_resume_blob(url)


@pytest.mark.parametrize("reference", ["", "resumes/", "job-a/../secret.pdf", "job-a/"])
def test_references_that_name_no_blob_are_refused(reference: str) -> None:
    with pytest.raises(InvalidIdentifierError):
        normalize_resume_blob(reference)


@pytest.mark.parametrize("job_id", ["Job", "job.a", "job/a", "-job", "", "j" * 64])
def test_job_ids_are_slugs(job_id: str) -> None:
    with pytest.raises(InvalidIdentifierError):
        job_instance_prefix(job_id)


def test_one_jobs_prefix_never_matches_another_job() -> None:
    assert not candidate_instance_id("job-ab", "x.pdf").startswith(job_instance_prefix("job-a"))


def test_batches_and_their_children() -> None:
    batch = batch_instance_id("job-a", ["job-a/b.pdf", "job-a/a.pdf", "job-a/a.pdf"])

    assert batch == batch_instance_id("job-a", ["resumes/job-a/a.pdf", "job-a/b.pdf"])
    assert batch.startswith("job-a.batch-")
    child = batch_child_instance_id(batch, "job-a/a.pdf")
    assert child.startswith(f"{batch}.")
    assert child != candidate_instance_id("job-a", "job-a/a.pdf")
    assert job_id_of_instance(interview_instance_id(child)) == "job-a"
