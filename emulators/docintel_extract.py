"""Text and structure from the documents the Document Intelligence emulator accepts (PDF, DOCX, plain text).

Nothing is OCR'd: PDFs must have a text layer, images are refused with a clear message.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Literal

LINES_PER_TEXT_PAGE = 50


class DocumentRejectedError(ValueError):
    """The document cannot be analysed; `inner_code` is the service's inner error code."""

    def __init__(self, inner_code: str, message: str) -> None:
        super().__init__(message)
        self.inner_code = inner_code


CORRUPT_MESSAGE = (
    "The file is corrupted or format is unsupported. Refer to documentation for the list of supported "
    "formats."
)


@dataclass
class Block:
    """A paragraph (one or more lines) or a table, in reading order."""

    kind: Literal["paragraph", "table"]
    lines: list[str] = field(default_factory=list)
    role: str | None = None
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Page:
    """One page's blocks."""

    blocks: list[Block] = field(default_factory=list)


_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
    (b"GIF8", "GIF"),
)


def sniff_format(data: bytes) -> str:
    """Classify as `pdf`, `docx`, `image:<KIND>`, `zip` or `text` by content, as the service does."""
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            return "zip"
        return "zip"
    for signature, kind in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return f"image:{kind}"
    if len(data) > 12 and data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1"):
        return "image:HEIF"
    return "text"


def _paragraphs_from_lines(lines: list[str]) -> list[Block]:
    blocks: list[Block] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            blocks.append(Block("paragraph", current))
            current = []
    return blocks


def _pdf_pages(data: bytes) -> list[Page]:
    import pypdf
    from pypdf.errors import PdfReadError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # A PDF with only an owner password opens with an empty user password; one that
            # needs a password to
            # open cannot be read, and the service reports it like any unreadable file.
            try:
                opened = reader.decrypt("")
            except (PdfReadError, NotImplementedError, ValueError) as error:
                raise DocumentRejectedError("InvalidContent", CORRUPT_MESSAGE) from error
            if not opened:
                raise DocumentRejectedError("InvalidContent", CORRUPT_MESSAGE)
        pages: list[Page] = []
        for pdf_page in reader.pages:
            text = pdf_page.extract_text() or ""
            lines = text.splitlines()
            # pypdf runs lines together; blank-line paragraphs rarely survive, so one line is one paragraph.
            pages.append(Page([Block("paragraph", [line.strip()]) for line in lines if line.strip()]))
        if not pages:
            raise DocumentRejectedError("InvalidContent", CORRUPT_MESSAGE)
        return pages
    except DocumentRejectedError:
        raise
    except Exception as error:  # pypdf raises a wide variety of errors for damaged files
        raise DocumentRejectedError("InvalidContent", CORRUPT_MESSAGE) from error


def _docx_pages(data: bytes) -> list[Page]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as error:  # python-docx surfaces zip, XML and key errors for damaged files
        raise DocumentRejectedError("InvalidContent", CORRUPT_MESSAGE) from error
    blocks: list[Block] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = str(child.tag).rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(child, document)
            text = paragraph.text.strip()
            if not text:
                continue
            style = (paragraph.style.name if paragraph.style is not None else "") or ""
            role = "title" if style == "Title" else "sectionHeading" if style.startswith("Heading") else None
            blocks.append(Block("paragraph", [line for line in text.splitlines() if line.strip()], role=role))
        elif tag == "tbl":
            table = Table(child, document)
            rows = [[cell.text.strip() for cell in row.cells] for row in table.rows]
            if rows:
                blocks.append(Block("table", rows=rows))
    return _paginate(blocks)


def _paginate(blocks: list[Block]) -> list[Page]:
    pages: list[Page] = [Page()]
    used = 0
    for block in blocks:
        size = len(block.lines) if block.kind == "paragraph" else len(block.rows)
        if used and used + size > LINES_PER_TEXT_PAGE:
            pages.append(Page())
            used = 0
        pages[-1].blocks.append(block)
        used += size
    return pages


def _text_pages(data: bytes) -> list[Page]:
    if b"\x00" in data[:4096]:
        raise DocumentRejectedError("InvalidContent", CORRUPT_MESSAGE)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentRejectedError("InvalidContent", CORRUPT_MESSAGE) from error
    return _paginate(_paragraphs_from_lines(text.splitlines()))


def extract_pages(data: bytes) -> list[Page]:
    """Return a document's pages of blocks; raise DocumentRejectedError when it is unreadable."""
    kind = sniff_format(data)
    if kind == "pdf":
        return _pdf_pages(data)
    if kind == "docx":
        return _docx_pages(data)
    if kind.startswith("image:"):
        raise DocumentRejectedError(
            "InvalidContent",
            f"The emulated service does not OCR images ({kind.split(':', 1)[1]} received). Submit a PDF "
            "with a text layer, a DOCX or plain text.",
        )
    if kind == "zip":
        raise DocumentRejectedError("InvalidContent", CORRUPT_MESSAGE)
    return _text_pages(data)
