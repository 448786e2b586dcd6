"""Pure pieces of the start path: contact metadata, file types and sizes."""

from __future__ import annotations

import pytest

from shared.models import CandidateContact
from triggers.intake import (
    MAX_RESUME_BYTES,
    ResumeTooLargeError,
    UnsupportedResumeError,
    check_resume_size,
    contact_from_metadata,
    contact_metadata,
    resume_content_type,
    uploaded_resume_name,
)


def test_contact_details_survive_blob_metadata() -> None:
    contact = CandidateContact(
        name="Zoë O'Brien; Ünal", email="z@example.test", phone="+35312345678", time_zone="Europe/Dublin"
    )

    metadata = contact_metadata(contact)

    assert all(value.isascii() for value in metadata.values())
    assert contact_from_metadata(metadata) == contact
    assert contact_from_metadata({k.upper(): v for k, v in metadata.items()}) == contact


def test_missing_or_bad_metadata_falls_back_to_defaults() -> None:
    assert contact_from_metadata(None) == CandidateContact()
    assert contact_from_metadata({"candidate_time_zone": "Atlantis/Deep", "other": "x"}).time_zone == "UTC"
    assert "candidate_phone" not in contact_metadata(CandidateContact(name="A"))


def test_only_pdf_and_docx_are_read() -> None:
    assert resume_content_type("job/CV.PDF") == "application/pdf"
    assert resume_content_type("job/cv.docx").endswith("wordprocessingml.document")
    for name in ("job/cv.doc", "job/cv", "job/cv.pdf.exe"):
        with pytest.raises(UnsupportedResumeError):
            resume_content_type(name)


def test_size_limit() -> None:
    check_resume_size(MAX_RESUME_BYTES)
    check_resume_size(None)
    with pytest.raises(ResumeTooLargeError):
        check_resume_size(MAX_RESUME_BYTES + 1)


def test_uploads_are_named_by_content() -> None:
    first = uploaded_resume_name("job-a", "Ada CV.PDF", b"one")
    assert first == uploaded_resume_name("job-a", "renamed.pdf", b"one")
    assert first != uploaded_resume_name("job-a", "Ada CV.PDF", b"two")
    assert first.startswith("job-a/")
    assert first.endswith(".pdf")
