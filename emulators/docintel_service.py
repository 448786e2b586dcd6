"""Azure AI Document Intelligence (REST API 2024-11-30) on loopback: the analyze long-running operation.

`POST .../documentModels/{modelId}:analyze` accepts raw bytes, `base64Source` or `urlSource` and answers 202
with `Operation-Location`; `GET .../analyzeResults/{resultId}` reports `running` on the first poll, then the
outcome. Request-level problems (auth, model, empty or oversized input, media type) are refused synchronously
like the real service; problems found while reading the document (corrupt, password-protected, an image) end
the operation as `failed` with the service's error body, which the SDK's poller raises.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from emulators.docintel_extract import Block, DocumentRejectedError, Page, extract_pages

API_VERSION = "2024-11-30"
SUPPORTED_MODELS = ("prebuilt-read", "prebuilt-layout", "prebuilt-document")
MAX_DOCUMENT_BYTES = 500 * 1024 * 1024
_PAGE_WIDTH_IN = 8.5
_PAGE_HEIGHT_IN = 11.0
_LINE_HEIGHT_IN = 0.2
_CHAR_WIDTH_IN = 0.07
_ACCEPTED_MEDIA_TYPES = (
    "application/pdf",
    "application/octet-stream",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text/plain",
    "text/html",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "image/bmp",
    "image/heif",
)


def _error(
    status: int, code: str, message: str, inner_code: str | None = None, inner_message: str = ""
) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if inner_code is not None:
        error["innererror"] = {"code": inner_code, "message": inner_message}
    return web.json_response({"error": error}, status=status)


def _invalid(inner_code: str, inner_message: str, status: int = 400) -> web.Response:
    return _error(status, "InvalidRequest", "Invalid request.", inner_code, inner_message)


@dataclass
class DocIntelConfig:
    """Key and limits of the emulated resource; `retry_after_s` is what 202 and `running` advertise."""

    api_key: str
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    retry_after_s: int = 1


@dataclass
class _Operation:
    model_id: str
    created: datetime
    output_format: str
    polls: int = 0
    status: str = "running"
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


def _now_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _polygon(x: float, y: float, width: float, height: float) -> list[float]:
    return [round(v, 4) for v in (x, y, x + width, y, x + width, y + height, x, y + height)]


class _ResultBuilder:
    """Lays the document out on synthetic page geometry and records spans into the content string."""

    def __init__(self, model_id: str, markdown: bool) -> None:
        self.model_id = model_id
        self.markdown = markdown
        self.content = ""
        self.pages: list[dict[str, Any]] = []
        self.paragraphs: list[dict[str, Any]] = []
        self.tables: list[dict[str, Any]] = []

    def _append(self, text: str) -> tuple[int, int]:
        if self.content:
            self.content += "\n"
        offset = len(self.content)
        self.content += text
        return offset, len(text)

    def _line(self, page: dict[str, Any], text: str, content_offset: int, row: int) -> list[float]:
        y = 1.0 + row * _LINE_HEIGHT_IN
        x = 1.0
        polygon = _polygon(x, y, min(len(text) * _CHAR_WIDTH_IN, _PAGE_WIDTH_IN - 2), _LINE_HEIGHT_IN * 0.8)
        page["lines"].append(
            {"content": text, "polygon": polygon, "spans": [{"offset": content_offset, "length": len(text)}]}
        )
        cursor = 0
        for word in text.split():
            start = text.index(word, cursor)
            cursor = start + len(word)
            page["words"].append(
                {
                    "content": word,
                    "polygon": _polygon(
                        x + start * _CHAR_WIDTH_IN, y, len(word) * _CHAR_WIDTH_IN, _LINE_HEIGHT_IN * 0.8
                    ),
                    "confidence": 0.995,
                    "span": {"offset": content_offset + start, "length": len(word)},
                }
            )
        return polygon

    def add_page(self, number: int, page_blocks: Page, with_tables: bool) -> None:
        page: dict[str, Any] = {
            "pageNumber": number,
            "angle": 0,
            "width": _PAGE_WIDTH_IN,
            "height": _PAGE_HEIGHT_IN,
            "unit": "inch",
            "words": [],
            "lines": [],
            "spans": [],
        }
        page_start = len(self.content) + (1 if self.content else 0)
        row = 0
        for block in page_blocks.blocks:
            if block.kind == "table" and with_tables:
                row = self._add_table(page, number, block, row)
                continue
            lines = block.lines if block.kind == "paragraph" else [" ".join(cells) for cells in block.rows]
            prefix = ""
            if self.markdown and block.role == "title":
                prefix = "# "
            elif self.markdown and block.role == "sectionHeading":
                prefix = "## "
            paragraph_text = "\n".join(lines)
            if self.markdown and prefix:
                offset, _ = self._append(prefix + paragraph_text)
                offset += len(prefix)
            else:
                offset, _ = self._append(paragraph_text)
            polygons = []
            line_offset = offset
            for line in lines:
                polygons.append(self._line(page, line, line_offset, row))
                line_offset += len(line) + 1
                row += 1
            if self.markdown:
                self.content += "\n"  # markdown separates paragraphs by a blank line
            paragraph: dict[str, Any] = {
                "content": paragraph_text,
                "spans": [{"offset": offset, "length": len(paragraph_text)}],
                "boundingRegions": [{"pageNumber": number, "polygon": _bounding(polygons)}],
            }
            if block.role:
                paragraph["role"] = block.role
            self.paragraphs.append(paragraph)
            row += 1
        page["spans"] = [{"offset": page_start, "length": max(0, len(self.content) - page_start)}]
        self.pages.append(page)

    def _add_table(self, page: dict[str, Any], number: int, block: Block, row: int) -> int:
        column_count = max(len(cells) for cells in block.rows)
        cells: list[dict[str, Any]] = []
        table_start = len(self.content) + (1 if self.content else 0)
        if self.markdown:
            self._append("<table>")
        polygons = []
        for row_index, row_cells in enumerate(block.rows):
            if self.markdown:
                self._append("<tr>")
            for column_index, text in enumerate(row_cells):
                tag = "th" if row_index == 0 else "td"
                if self.markdown:
                    offset, _ = self._append(f"<{tag}>{text}</{tag}>")
                    offset += len(tag) + 2
                else:
                    offset, _ = self._append(text)
                polygon = (
                    self._line(page, text, offset, row) if text else _polygon(1.0, 1.0 + row * 0.2, 0.1, 0.16)
                )
                polygons.append(polygon)
                cell: dict[str, Any] = {
                    "rowIndex": row_index,
                    "columnIndex": column_index,
                    "content": text,
                    "boundingRegions": [{"pageNumber": number, "polygon": polygon}],
                    "spans": [{"offset": offset, "length": len(text)}] if text else [],
                }
                if row_index == 0:
                    cell["kind"] = "columnHeader"
                cells.append(cell)
                row += 1
            if self.markdown:
                self._append("</tr>")
        if self.markdown:
            self._append("</table>")
        self.tables.append(
            {
                "rowCount": len(block.rows),
                "columnCount": column_count,
                "cells": cells,
                "boundingRegions": [{"pageNumber": number, "polygon": _bounding(polygons)}],
                "spans": [{"offset": table_start, "length": len(self.content) - table_start}],
            }
        )
        return row + 1

    def result(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "modelId": self.model_id,
            "stringIndexType": "textElements",
            "content": self.content,
            "contentFormat": "markdown" if self.markdown else "text",
            "pages": self.pages,
            "paragraphs": self.paragraphs,
            "styles": [],
        }
        if self.model_id != "prebuilt-read":
            result["tables"] = self.tables
        if self.model_id == "prebuilt-document":
            result["keyValuePairs"] = []
        return result


def _bounding(polygons: list[list[float]]) -> list[float]:
    if not polygons:
        return _polygon(1.0, 1.0, 0.1, 0.1)
    xs = [p[i] for p in polygons for i in (0, 2, 4, 6)]
    ys = [p[i] for p in polygons for i in (1, 3, 5, 7)]
    return _polygon(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def analyze_document(data: bytes, model_id: str, markdown: bool) -> dict[str, Any]:
    """Return the `analyzeResult` for a document; raise DocumentRejectedError when it cannot be read."""
    builder = _ResultBuilder(model_id, markdown)
    for number, page in enumerate(extract_pages(data), start=1):
        builder.add_page(number, page, with_tables=model_id != "prebuilt-read")
    return builder.result()


class DocIntelEmulator:
    """The analyze operation of Document Intelligence, with results held in memory."""

    def __init__(self, config: DocIntelConfig) -> None:
        self.config = config
        self._operations: dict[str, _Operation] = {}
        self._sequence = itertools.count(1)

    def add_routes(self, app: web.Application) -> None:
        """Register the analyze and result routes (`{modelId}:analyze` is one path segment)."""
        # An endpoint configured with a trailing slash (as the portal shows it) makes the SDK send
        # `//document...`.
        for root in ("/documentintelligence", "//documentintelligence"):
            app.router.add_post(f"{root}/documentModels/{{action}}", self._analyze)
            app.router.add_get(
                f"{root}/documentModels/{{model_id}}/analyzeResults/{{result_id}}", self._result
            )

    async def stop(self) -> None:
        """Cancel analyses still running."""
        tasks = [op.task for op in self._operations.values() if op.task is not None and not op.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Ocp-Apim-Subscription-Key") == self.config.api_key

    async def _analyze(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(
                401,
                "401",
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
                "a valid key for an active subscription and use a correct regional API endpoint for your "
                "resource.",
            )
        action = request.match_info["action"]
        model_id, sep, verb = action.partition(":")
        if not sep or verb != "analyze":
            return _error(404, "NotFound", "Resource not found.")
        if request.query.get("api-version") is None:
            return _error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required.",
            )
        if request.query["api-version"] != API_VERSION:
            return _error(
                404,
                "UnsupportedApiVersion",
                "The HTTP resource that matches the request URI does not support the API version "
                f"'{request.query['api-version']}'. Supported: {API_VERSION}.",
            )
        if model_id not in SUPPORTED_MODELS:
            return _error(
                404, "NotFound", "Resource not found.", "ModelNotFound", "The requested model was not found."
            )
        output_format = request.query.get("outputContentFormat", "text")
        if output_format not in ("text", "markdown"):
            return _invalid("InvalidParameter", "The parameter outputContentFormat is invalid.")
        limit = self.config.max_document_bytes
        if request.content_length is not None and request.content_length > limit:
            return _invalid(
                "InvalidContentLength",
                "The input image is too large. Refer to documentation for the maximum file size.",
            )
        media_type = request.content_type
        data: bytes | None
        url: str | None = None
        if media_type == "application/json":
            try:
                body = json.loads(await request.read())
            except (json.JSONDecodeError, UnicodeDecodeError):
                return _invalid("InvalidRequestBody", "The request body is not valid JSON.")
            if not isinstance(body, dict):
                return _invalid("InvalidRequestBody", "The request body must be a JSON object.")
            if isinstance(body.get("base64Source"), str):
                try:
                    data = base64.b64decode(body["base64Source"], validate=True)
                except (binascii.Error, ValueError):
                    return _invalid("InvalidBase64Source", "The base64Source is not valid base64 data.")
            elif isinstance(body.get("urlSource"), str):
                url = body["urlSource"]
                data = None
            else:
                return _invalid(
                    "InvalidRequestBody", "The request body must have either urlSource or base64Source."
                )
        elif media_type in _ACCEPTED_MEDIA_TYPES:
            data = await request.read()
        else:
            return _error(
                415, "UnsupportedMediaType", "Resource does not support the request content type.", None
            )
        if data is not None:
            if not data:
                return _invalid("EmptyRequest", "Request body must not be empty.")
            if len(data) > limit:
                return _invalid(
                    "InvalidContentLength",
                    "The input image is too large. Refer to documentation for the maximum file size.",
                )
        digest = hashlib.sha256(
            (data or (url or "").encode()) + str(next(self._sequence)).encode()
        ).hexdigest()
        result_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
        operation = _Operation(model_id, datetime.now(UTC), output_format)
        self._operations[result_id] = operation
        operation.task = asyncio.create_task(self._run(operation, data, url))
        location = (
            f"{request.url.origin()}/documentintelligence/documentModels/{model_id}/analyzeResults/{result_id}"
            f"?api-version={API_VERSION}"
        )
        return web.Response(
            status=202,
            headers={
                "Operation-Location": location,
                "Retry-After": str(self.config.retry_after_s),
                "apim-request-id": result_id,
            },
        )

    async def _run(self, operation: _Operation, data: bytes | None, url: str | None) -> None:
        try:
            if data is None and url is not None:
                data = await self._download(url)
            assert data is not None
            operation.result = await asyncio.to_thread(
                analyze_document, data, operation.model_id, operation.output_format == "markdown"
            )
            operation.status = "succeeded"
        except DocumentRejectedError as rejected:
            operation.status = "failed"
            operation.error = {
                "code": "InvalidRequest",
                "message": "Invalid request.",
                "innererror": {"code": rejected.inner_code, "message": str(rejected)},
            }

    async def _download(self, url: str) -> bytes:
        limit = self.config.max_document_bytes
        try:
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                if response.status >= 400:
                    raise DocumentRejectedError(
                        "InvalidContentSourceFormat"
                        if response.status == 415
                        else "ContentSourceNotAccessible",
                        f"Content is not accessible: the URL answered with status {response.status}. Make "
                        "sure the URL is reachable and, for private storage, carries a SAS.",
                    )
                data = await response.content.read(limit + 1)
        except aiohttp.ClientError as error:
            raise DocumentRejectedError(
                "ContentSourceNotAccessible", f"Content is not accessible: {error.__class__.__name__}."
            ) from error
        if not data:
            raise DocumentRejectedError("EmptyRequest", "The document at urlSource is empty.")
        if len(data) > limit:
            raise DocumentRejectedError(
                "InvalidContentLength",
                "The input image is too large. Refer to documentation for the maximum file size.",
            )
        return data

    async def _result(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(
                401,
                "401",
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
                "a valid key for an active subscription and use a correct regional API endpoint for your "
                "resource.",
            )
        operation = self._operations.get(request.match_info["result_id"])
        if operation is None or operation.model_id != request.match_info["model_id"]:
            return _error(
                404, "NotFound", "Resource not found.", "AnalyzeResultNotFound", "Analyze result not found."
            )
        operation.polls += 1
        created = _now_text(operation.created)
        body: dict[str, Any] = {
            "createdDateTime": created,
            "lastUpdatedDateTime": _now_text(datetime.now(UTC)),
        }
        # The first poll always sees `running`, as a real (slower) analysis would, so pollers take
        # that path too.
        if operation.polls == 1 or operation.status == "running":
            body["status"] = "running"
            return web.json_response(body, headers={"Retry-After": str(self.config.retry_after_s)})
        body["status"] = operation.status
        if operation.status == "succeeded":
            body["analyzeResult"] = operation.result
        else:
            body["error"] = operation.error
        return web.json_response(body)
