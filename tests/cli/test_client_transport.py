"""The client's HTTP transport against a real loopback server: the multipart upload, keys, errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hireflow.client import ApiError, HireflowClient

SUBMITTED = {"id": "job-1:abc", "job_id": "job-1", "created": True, "runtime_status": "Pending"}


class Recorder(BaseHTTPRequestHandler):
    """Records each request and answers with the status and body the test queued."""

    requests: list[dict[str, Any]]
    answers: list[tuple[int, dict[str, Any]]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.requests.append(
            {"path": self.path, "headers": dict(self.headers.items()), "body": self.rfile.read(length)}
        )
        status, body = self.answers.pop(0)
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[Recorder]]]:
    handler = type("Handler", (Recorder,), {"requests": [], "answers": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _form_parts(request: dict[str, Any]) -> dict[str, Any]:
    content_type = request["headers"]["Content-Type"]
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + request["body"]
    )
    parts: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        parts[str(name)] = part
    return parts


def test_a_file_upload_is_multipart_with_the_fields_the_file_and_its_type(
    server: tuple[str, type[Recorder]], tmp_path: Path
) -> None:
    url, handler = server
    handler.answers.append((202, SUBMITTED))
    resume = tmp_path / "cv.pdf"
    resume.write_bytes(b"%PDF-1.4 not really")

    submission = HireflowClient(url, function_key="k3y").submit_file(
        "job-1", resume, name="Ada Lovelace", email="ada@example.org"
    )

    assert submission.id == "job-1:abc"
    assert submission.created
    [request] = handler.requests
    assert request["path"] == "/api/jobs/job-1/candidates"
    assert request["headers"]["x-functions-key"] == "k3y"
    parts = _form_parts(request)
    assert set(parts) == {"name", "email", "resume"}
    assert parts["name"].get_content() == "Ada Lovelace"
    assert parts["email"].get_content() == "ada@example.org"
    assert parts["resume"].get_filename() == "cv.pdf"
    assert parts["resume"].get_content_type() == "application/pdf"
    assert parts["resume"].get_payload(decode=True) == b"%PDF-1.4 not really"


def test_a_quote_or_line_break_in_the_file_name_cannot_end_the_header(
    server: tuple[str, type[Recorder]], tmp_path: Path
) -> None:
    url, handler = server
    handler.answers.append((202, SUBMITTED))
    resume = tmp_path / "cv.docx"
    resume.write_bytes(b"PK")

    HireflowClient(url).submit_file("job-1", resume, name="A", filename='x".docx\r\nX-Evil: 1')

    body: bytes = handler.requests[0]["body"]
    assert b"X-Evil: 1\r\n" not in body
    assert b'filename="x%22.docx%0D%0AX-Evil: 1"' in body


def test_an_error_answer_raises_api_error_with_the_apis_code_and_fields(
    server: tuple[str, type[Recorder]], tmp_path: Path
) -> None:
    url, handler = server
    error = {"code": "invalid_request", "message": "bad", "fields": [{"field": "name", "message": "empty"}]}
    handler.answers.append((400, {"error": error}))
    resume = tmp_path / "cv.pdf"
    resume.write_bytes(b"x")

    with pytest.raises(ApiError) as raised:
        HireflowClient(url).submit_file("job-1", resume, name="")

    assert (raised.value.status, raised.value.code, raised.value.message) == (400, "invalid_request", "bad")
    assert raised.value.fields == [{"field": "name", "message": "empty"}]
    assert raised.value.method == "POST"
    assert raised.value.url == f"{url}/api/jobs/job-1/candidates"
    assert "name: empty" in str(raised.value)
