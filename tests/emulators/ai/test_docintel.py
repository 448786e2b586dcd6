"""Document Intelligence analyze operations with the real `azure-ai-documentintelligence` clients."""

from __future__ import annotations

import asyncio
import base64
import http.server
import threading
from collections.abc import Iterator

import pytest
from azure.ai.documentintelligence.models import AnalyzeDocumentRequest, AnalyzeResult, DocumentContentFormat
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

from emulators.server import EmulatorThread
from tests.emulators.ai.documents import RESUME_LINES, docx_bytes, encrypted_pdf_bytes, pdf_bytes
from tests.emulators.ai.helpers import async_docintel_client, docintel_client, raw_request

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FAST = {"polling_interval": 0.01}


def _check_spans(result: AnalyzeResult) -> None:
    """Every word, line and paragraph span must point at its own text inside `content`."""
    content = result.content
    for page in result.pages:
        for word in page.words or []:
            assert content[word.span.offset : word.span.offset + word.span.length] == word.content
            assert word.polygon is not None
            assert len(word.polygon) == 8
        for line in page.lines or []:
            span = line.spans[0]
            assert content[span.offset : span.offset + span.length] == line.content
    for paragraph in result.paragraphs or []:
        span = paragraph.spans[0]
        assert content[span.offset : span.offset + span.length] == paragraph.content


def test_pdf_text_pages_lines_words(emulator: EmulatorThread) -> None:
    client = docintel_client(emulator.settings)
    document = pdf_bytes([RESUME_LINES[:6], RESUME_LINES[6:]])
    poller = client.begin_analyze_document(
        "prebuilt-read", body=document, content_type="application/pdf", **FAST
    )
    result = poller.result()
    assert result.model_id == "prebuilt-read"
    assert result.api_version == "2024-11-30"
    assert len(result.pages) == 2
    assert [line.content for line in result.pages[0].lines or []] == RESUME_LINES[:6]
    assert "jane.doe@example.com" in result.content
    assert result.tables is None  # the read model finds no tables
    _check_spans(result)


def test_docx_with_table_and_markdown(emulator: EmulatorThread) -> None:
    client = docintel_client(emulator.settings)
    document = docx_bytes(
        "Jane Q. Doe",
        ["Senior Backend Engineer", "# Skills", "Python, Go"],
        table=[["Company", "Years"], ["Contoso", "4"], ["Fabrikam", "3"]],
    )
    result = client.begin_analyze_document(
        "prebuilt-layout", body=document, content_type=DOCX_MIME, **FAST
    ).result()
    assert result.tables is not None
    table = result.tables[0]
    assert (table.row_count, table.column_count) == (3, 2)
    assert [c.content for c in table.cells] == ["Company", "Years", "Contoso", "4", "Fabrikam", "3"]
    assert table.cells[0].kind == "columnHeader"
    roles = {p.content: p.role for p in result.paragraphs or []}
    assert roles["Jane Q. Doe"] == "title"
    assert roles["Skills"] == "sectionHeading"
    _check_spans(result)
    markdown = client.begin_analyze_document(
        "prebuilt-layout",
        body=document,
        content_type=DOCX_MIME,
        output_content_format=DocumentContentFormat.MARKDOWN,
        **FAST,
    ).result()
    assert markdown.content_format == "markdown"
    assert markdown.content.startswith("# Jane Q. Doe")
    assert "## Skills" in markdown.content
    assert "<table>" in markdown.content
    assert "<td>Contoso</td>" in markdown.content
    _check_spans(markdown)
    for cell in markdown.tables[0].cells:  # type: ignore[index]
        span = cell.spans[0]
        assert markdown.content[span.offset : span.offset + span.length] == cell.content


def test_plain_text_and_base64_source_with_prebuilt_document(emulator: EmulatorThread) -> None:
    client = docintel_client(emulator.settings)
    text = "First paragraph line one\nline two\n\nSecond paragraph"
    request = AnalyzeDocumentRequest(bytes_source=text.encode())
    result = client.begin_analyze_document("prebuilt-document", body=request, **FAST).result()
    assert result.content == "First paragraph line one\nline two\nSecond paragraph"
    assert [p.content for p in result.paragraphs or []] == [
        "First paragraph line one\nline two",
        "Second paragraph",
    ]
    _check_spans(result)


@pytest.fixture
def file_server() -> Iterator[str]:
    documents = {"/resume.pdf": pdf_bytes([RESUME_LINES])}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = documents.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_url_source_is_downloaded(emulator: EmulatorThread, file_server: str) -> None:
    client = docintel_client(emulator.settings)
    request = AnalyzeDocumentRequest(url_source=f"{file_server}/resume.pdf")
    result = client.begin_analyze_document("prebuilt-layout", body=request, **FAST).result()
    assert "Jane Q. Doe" in result.content
    with pytest.raises(HttpResponseError) as raised:
        client.begin_analyze_document(
            "prebuilt-layout", body=AnalyzeDocumentRequest(url_source=f"{file_server}/missing.pdf"), **FAST
        ).result()
    assert raised.value.error is not None
    assert _inner(raised.value)["code"] == "ContentSourceNotAccessible"


def test_async_client_and_poller(emulator: EmulatorThread) -> None:
    async def scenario() -> AnalyzeResult:
        client = async_docintel_client(emulator.settings)
        async with client:
            poller = await client.begin_analyze_document(
                "prebuilt-layout",
                body=pdf_bytes([["Hello async world"]]),
                content_type="application/pdf",
                **FAST,
            )
            return await poller.result()

    result = asyncio.run(scenario())
    assert result.content == "Hello async world"


def test_first_poll_is_running_then_succeeded(emulator: EmulatorThread) -> None:
    base = emulator.settings["EMULATORS_HTTP_URL"]
    key = {"Ocp-Apim-Subscription-Key": emulator.settings["DOCUMENT_INTELLIGENCE_API_KEY"]}
    accepted = raw_request(
        f"{base}/documentintelligence/documentModels/prebuilt-read:analyze?api-version=2024-11-30",
        data=b"hello",
        headers={**key, "Content-Type": "text/plain"},
    )
    assert accepted.status == 202
    assert accepted.headers["Retry-After"] == "0"
    location = accepted.headers["Operation-Location"]
    assert "/analyzeResults/" in location
    first = raw_request(location, method="GET", headers=key).json()
    assert first["status"] == "running"
    deadline = 50
    while deadline:
        polled = raw_request(location, method="GET", headers=key).json()
        if polled["status"] != "running":
            break
        deadline -= 1
    assert polled["status"] == "succeeded"
    assert polled["analyzeResult"]["content"] == "hello"


def _inner(error: HttpResponseError) -> dict[str, str]:
    """The service's inner error (azure-core keeps it as a plain dict)."""
    assert error.error is not None
    inner = error.error.innererror
    assert isinstance(inner, dict)
    return inner


def _failure(
    emulator: EmulatorThread, body: bytes, content_type: str = "application/pdf"
) -> HttpResponseError:
    client = docintel_client(emulator.settings, retry_total=0)
    with pytest.raises(HttpResponseError) as raised:
        client.begin_analyze_document(
            "prebuilt-layout", body=body, content_type=content_type, **FAST
        ).result()
    return raised.value


def test_corrupt_pdf_fails_with_invalid_content(emulator: EmulatorThread) -> None:
    error = _failure(emulator, b"%PDF-1.7\n this is not really a pdf")
    assert error.error is not None
    assert error.error.code == "InvalidRequest"
    assert _inner(error)["code"] == "InvalidContent"
    assert "corrupted or format is unsupported" in _inner(error)["message"]


def test_password_protected_pdf_fails_with_invalid_content(emulator: EmulatorThread) -> None:
    error = _failure(emulator, encrypted_pdf_bytes(["secret"], password="s3cret"))
    assert _inner(error)["code"] == "InvalidContent"


def test_corrupt_docx_fails(emulator: EmulatorThread) -> None:
    error = _failure(emulator, b"PK\x03\x04 broken zip", DOCX_MIME)
    assert _inner(error)["code"] == "InvalidContent"


def test_images_are_refused_clearly(emulator: EmulatorThread) -> None:
    error = _failure(emulator, b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png")
    assert _inner(error)["code"] == "InvalidContent"
    assert "does not OCR images (PNG" in _inner(error)["message"]


def test_empty_and_oversized_input_are_refused_up_front(emulator: EmulatorThread) -> None:
    empty = _failure(emulator, b"")
    assert empty.status_code == 400
    assert _inner(empty)["code"] == "EmptyRequest"
    huge = _failure(emulator, b"%PDF" + b"0" * (300 * 1024))
    assert huge.status_code == 400
    assert _inner(huge)["code"] == "InvalidContentLength"


def test_unknown_model_is_404_model_not_found(emulator: EmulatorThread) -> None:
    client = docintel_client(emulator.settings, retry_total=0)
    with pytest.raises(ResourceNotFoundError) as raised:
        client.begin_analyze_document("prebuilt-invoice-xyz", body=b"x", content_type="text/plain")
    assert _inner(raised.value)["code"] == "ModelNotFound"


def test_wrong_key_is_401(emulator: EmulatorThread) -> None:
    client = docintel_client(emulator.settings, key="wrong", retry_total=0)
    with pytest.raises(ClientAuthenticationError):
        client.begin_analyze_document("prebuilt-read", body=b"x", content_type="text/plain")


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{broken", "application/json", 400, "InvalidRequestBody"),
        (b'{"nothing": 1}', "application/json", 400, "InvalidRequestBody"),
        (b'{"base64Source": "%%%not base64"}', "application/json", 400, "InvalidBase64Source"),
        (b"<xml/>", "application/xml", 415, None),
    ],
)
def test_bad_analyze_requests(
    emulator: EmulatorThread, body: bytes, content_type: str, status: int, code: str | None
) -> None:
    base = emulator.settings["EMULATORS_HTTP_URL"]
    response = raw_request(
        f"{base}/documentintelligence/documentModels/prebuilt-read:analyze?api-version=2024-11-30",
        data=body,
        headers={
            "Ocp-Apim-Subscription-Key": emulator.settings["DOCUMENT_INTELLIGENCE_API_KEY"],
            "Content-Type": content_type,
        },
    )
    assert response.status == status
    error = response.json()["error"]
    if code is None:
        assert error["code"] == "UnsupportedMediaType"
    else:
        assert error["code"] == "InvalidRequest"
        assert error["innererror"]["code"] == code


def test_unknown_result_id_is_404(emulator: EmulatorThread) -> None:
    base = emulator.settings["EMULATORS_HTTP_URL"]
    response = raw_request(
        f"{base}/documentintelligence/documentModels/prebuilt-read/analyzeResults/nope?api-version=2024-11-30",
        method="GET",
        headers={"Ocp-Apim-Subscription-Key": emulator.settings["DOCUMENT_INTELLIGENCE_API_KEY"]},
    )
    assert response.status == 404
    assert response.json()["error"]["innererror"]["code"] == "AnalyzeResultNotFound"


def test_bytes_source_round_trip_matches_raw_upload(emulator: EmulatorThread) -> None:
    client = docintel_client(emulator.settings)
    document = pdf_bytes([["Same text either way"]])
    raw = client.begin_analyze_document(
        "prebuilt-read", body=document, content_type="application/pdf", **FAST
    )
    encoded = client.begin_analyze_document(
        "prebuilt-read", body={"base64Source": base64.b64encode(document).decode()}, **FAST
    )
    assert raw.result().content == encoded.result().content == "Same text either way"
