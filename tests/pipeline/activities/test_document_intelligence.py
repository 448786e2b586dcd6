from collections.abc import Callable

import pytest

from activities.document_intelligence import extract_resume_text
from emulators.server import EmulatorThread
from shared.errors import ErrorCode, TransientError, error_code_from_exception_message
from shared.models import ExtractResumeTextOutput
from shared.settings import get_settings
from shared.storage import download_text
from tests.pipeline.activities.conftest import JOB_ID, blob_names, served, upload_sample

pytestmark = pytest.mark.azurite


def _payload(resume: dict[str, object], instance: str = "cand-1") -> dict[str, object]:
    return {"instance_id": instance, "job_id": JOB_ID, "resume": resume}


@pytest.mark.parametrize("sample", ["resumes/ada-strong.pdf", "resumes/ben-average.docx"])
def test_extracts_text_to_blob_with_counts(configure: Callable[..., None], sample: str) -> None:
    result = ExtractResumeTextOutput.model_validate(extract_resume_text(_payload(upload_sample(sample))))
    assert result.failure is None
    assert result.text is not None
    assert result.text.page_count == 1
    text = download_text(result.text)
    assert result.text.char_count == len(text)
    assert "Python" in text
    assert result.text.container == get_settings().artifacts_container


def test_second_execution_reuses_the_text(configure: Callable[..., None], emulators: EmulatorThread) -> None:
    payload = _payload(upload_sample("resumes/ada-strong.pdf"))
    before = served(emulators, "docintel")
    first = extract_resume_text(payload)
    after_first = served(emulators, "docintel")
    second = extract_resume_text(payload)
    assert first == second
    assert after_first > before
    assert served(emulators, "docintel") == after_first
    assert blob_names(get_settings().artifacts_container) == ["cand-1/resume.txt"]


def test_corrupt_document_is_a_typed_permanent_failure(configure: Callable[..., None]) -> None:
    result = ExtractResumeTextOutput.model_validate(
        extract_resume_text(_payload(upload_sample("resumes/frank-corrupt.pdf")))
    )
    assert result.text is None
    assert result.failure is not None
    assert result.failure.code is ErrorCode.CORRUPT_DOCUMENT
    assert blob_names(get_settings().artifacts_container) == []


def test_missing_and_empty_resumes(configure: Callable[..., None]) -> None:
    missing = {"container": get_settings().resumes_container, "name": "nope.pdf"}
    result = ExtractResumeTextOutput.model_validate(extract_resume_text(_payload(missing)))
    assert result.failure is not None
    assert result.failure.code is ErrorCode.NOT_FOUND
    from shared.storage import upload_bytes

    empty = upload_bytes(get_settings().resumes_container, "empty.pdf", b"").model_dump(mode="json")
    result = ExtractResumeTextOutput.model_validate(extract_resume_text(_payload(empty, "cand-2")))
    assert result.failure is not None
    assert result.failure.code is ErrorCode.EMPTY_DOCUMENT


def test_invalid_input_is_a_typed_failure(configure: Callable[..., None]) -> None:
    result = ExtractResumeTextOutput.model_validate(extract_resume_text({"job_id": JOB_ID}))
    assert result.failure is not None
    assert result.failure.code is ErrorCode.INVALID_INPUT


@pytest.mark.parametrize(
    ("spec", "code"),
    [("docintel:429=1", ErrorCode.RATE_LIMITED), ("docintel:503=1", ErrorCode.SERVICE_UNAVAILABLE)],
)
def test_throttling_and_outages_raise_transient_then_succeed(
    configure: Callable[..., None], faults: Callable[[str], None], spec: str, code: ErrorCode
) -> None:
    payload = _payload(upload_sample("resumes/eve-average.pdf"))
    faults(spec)  # every request fails: more than the in-attempt retries absorb
    with pytest.raises(TransientError) as raised:
        extract_resume_text(payload)
    assert error_code_from_exception_message(str(raised.value)) is code
    faults("")
    result = ExtractResumeTextOutput.model_validate(extract_resume_text(payload))
    assert result.failure is None


def test_unreachable_service_is_transient(configure: Callable[..., None]) -> None:
    configure(DOCUMENT_INTELLIGENCE_ENDPOINT="http://127.0.0.1:9/")
    payload = _payload(upload_sample("resumes/ada-strong.pdf"))
    with pytest.raises(TransientError) as raised:
        extract_resume_text(payload)
    assert raised.value.code is ErrorCode.CONNECTION_FAILED


def test_a_failed_poll_resumes_the_same_operation(
    configure: Callable[..., None],
    emulators: EmulatorThread,
    script_faults: Callable[[str, list[str | None]], None],
    pauses: list[float],
) -> None:
    payload = _payload(upload_sample("resumes/ada-strong.pdf"), instance="cand-polls")
    operations_before = len(emulators.server.docintel._operations)
    # The submit fails once, then every other poll fails: each of these lost the whole analysis before.
    script_faults("docintel", ["503", None, "429", None, "500", None])

    result = ExtractResumeTextOutput.model_validate(extract_resume_text(payload))

    assert result.failure is None
    assert result.text is not None
    assert result.text.char_count > 100
    # One analysis was submitted and followed to its end; the failed polls were retried in the attempt.
    assert len(emulators.server.docintel._operations) == operations_before + 1
    assert len(pauses) == 3


def test_polls_that_keep_failing_end_the_attempt_as_transient(
    configure: Callable[..., None],
    script_faults: Callable[[str, list[str | None]], None],
) -> None:
    from shared.retry import REQUEST_RETRY

    payload = _payload(upload_sample("resumes/ada-strong.pdf"), instance="cand-outage")
    script_faults("docintel", [None, *["503"] * REQUEST_RETRY.tries])

    with pytest.raises(TransientError) as raised:
        extract_resume_text(payload)

    assert error_code_from_exception_message(str(raised.value)) is ErrorCode.SERVICE_UNAVAILABLE
