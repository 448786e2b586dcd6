"""Document Intelligence activities: resume (Blob) → analyzed text (Blob), returned as a reference.

An analysis is a submit (POST, answered 202 with ``Operation-Location``) followed by polls of that location.
A transient fault on a poll does not lose the analysis: the poller is rebuilt from its continuation token
(the operation's location) and polling goes on, within the budget of ``shared.retry.REQUEST_RETRY``.
"""

from __future__ import annotations

import io
from typing import Any

import azure.durable_functions as df

from activities._common import run_activity
from activities.contracts import EXTRACT_RESUME_TEXT
from shared import retry
from shared.clients import document_intelligence_client
from shared.errors import ErrorCode, PermanentError, classify_exception
from shared.models import ExtractResumeTextInput, ExtractResumeTextOutput, TextRef
from shared.retry import REQUEST_RETRY, RequestRetry, call_with_request_retries
from shared.settings import get_settings
from shared.storage import blob_properties, download_bytes, upload_bytes

__all__ = ["bp", "extract_resume_text_service", "resume_text_blob_name"]

bp = df.Blueprint()

# Error codes Document Intelligence uses for input it cannot read (a corrupt or unsupported file).
_UNREADABLE_CODES = ("InvalidContent", "InvalidRequest", "InvalidContentLength", "UnsupportedContent")


def resume_text_blob_name(instance_id: str) -> str:
    """Where the extracted text of an instance's resume is stored (one per instance: idempotent)."""
    return f"{instance_id}/resume.txt"


def analyze_document(model_id: str, document: bytes, *, policy: RequestRetry = REQUEST_RETRY) -> Any:
    """Analyze ``document`` and return the ``AnalyzeResult``, surviving transient faults of every request.

    The submit is tried up to ``policy.tries`` times. The polls of the operation may fail transiently up to
    ``policy.tries - 1`` times in all: after a failed poll the operation is resumed from its location (a new
    submit would analyze, and bill, the document again). A permanent fault, or a transient one past the
    budget, propagates.
    """
    from azure.core import exceptions as azure_errors

    client = document_intelligence_client()

    def submit() -> Any:
        return client.begin_analyze_document(
            model_id, io.BytesIO(document), content_type="application/octet-stream"
        )

    poller = call_with_request_retries(submit, what="analyze document: submit", policy=policy)
    token = poller.continuation_token()
    failed_polls = 0
    while True:
        try:
            return poller.result()
        except (
            azure_errors.HttpResponseError,
            azure_errors.ServiceRequestError,
            azure_errors.ServiceResponseError,
        ) as error:
            failed_polls += 1
            if not classify_exception(error).transient or failed_polls >= policy.tries:
                raise
            retry.pause(policy.delay(failed_polls, error))
            # Resuming from the token sends nothing: the next request is the next poll of the same operation.
            poller = client.begin_analyze_document(model_id, io.BytesIO(b""), continuation_token=token)


def extract_resume_text_service(request: ExtractResumeTextInput) -> ExtractResumeTextOutput:
    """Analyze the resume and store its text, unless an earlier execution already did."""
    settings = get_settings()
    container = settings.artifacts_container
    name = resume_text_blob_name(request.instance_id)
    existing = blob_properties(container, name)
    if existing is not None:
        metadata = existing.metadata or {}
        return ExtractResumeTextOutput(
            text=TextRef(
                container=container,
                name=name,
                size_bytes=existing.size,
                content_type="text/plain; charset=utf-8",
                page_count=int(metadata.get("page_count", "0")),
                char_count=int(metadata.get("char_count", "0")),
            )
        )
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    try:
        document = download_bytes(request.resume)
    except ResourceNotFoundError as error:
        raise PermanentError(
            ErrorCode.NOT_FOUND, f"resume blob {request.resume.path} does not exist"
        ) from error
    if not document:
        raise PermanentError(ErrorCode.EMPTY_DOCUMENT, f"resume blob {request.resume.path} is empty")
    try:
        result = analyze_document(settings.document_intelligence_model, document)
    except HttpResponseError as error:
        # A failed analysis surfaces either on the 400 of the submit or on the 200 of the final poll, with the
        # reason in the inner error; throttling and outages keep their transient status codes.
        code = getattr(error.error, "code", None) or ""
        inner = getattr(getattr(error.error, "innererror", None), "code", None) or ""
        status = error.status_code or 0
        unreadable = code in _UNREADABLE_CODES or inner in _UNREADABLE_CODES or "InvalidContent" in str(error)
        if status < 429 and unreadable:
            raise PermanentError(
                ErrorCode.CORRUPT_DOCUMENT, f"{request.resume.path} cannot be read as a document ({code})"
            ) from error
        raise
    text: str = result.content or ""
    pages: list[Any] = list(result.pages or [])
    if not text.strip():
        raise PermanentError(ErrorCode.EMPTY_DOCUMENT, f"{request.resume.path} contains no readable text")
    data = text.encode("utf-8")
    upload_bytes(
        container,
        name,
        data,
        content_type="text/plain; charset=utf-8",
        metadata={"page_count": str(len(pages)), "char_count": str(len(text)), "source": request.resume.path},
    )
    return ExtractResumeTextOutput(
        text=TextRef(
            container=container,
            name=name,
            size_bytes=len(data),
            content_type="text/plain; charset=utf-8",
            page_count=len(pages),
            char_count=len(text),
        )
    )


@bp.function_name(EXTRACT_RESUME_TEXT.name)
@bp.activity_trigger(input_name="payload")
def extract_resume_text(payload: Any) -> dict[str, Any]:
    """Extract a resume's text with Document Intelligence; ``ExtractResumeTextInput`` → ``...Output``."""
    return run_activity(
        EXTRACT_RESUME_TEXT.name,
        payload,
        EXTRACT_RESUME_TEXT.input_model,
        EXTRACT_RESUME_TEXT.output_model,
        extract_resume_text_service,
    )
