"""Sample documents built in-process: a tiny PDF writer (text layer only) and DOCX files via python-docx."""

from __future__ import annotations

import io
from collections.abc import Sequence

import docx


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(pages: Sequence[Sequence[str]]) -> bytes:
    """A valid PDF with one Helvetica text line per entry, one page per sequence; pypdf reads it back."""
    objects: list[bytes] = []
    page_count = len(pages)
    font_id = 3 + 2 * page_count
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(page_count))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {page_count} >>".encode())
    for index, lines in enumerate(pages):
        content_id = 4 + 2 * index
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        commands = ["BT", "/F1 11 Tf", "14 TL", "72 740 Td"]
        for line in lines:
            commands.append(f"({_escape(line)}) Tj T*")
        commands.append("ET")
        stream = "\n".join(commands).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def encrypted_pdf_bytes(lines: Sequence[str], password: str) -> bytes:
    """The same PDF locked with a user password (pypdf's writer does the encryption)."""
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes([lines])))
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(title: str, paragraphs: Sequence[str], table: Sequence[Sequence[str]] | None = None) -> bytes:
    """A DOCX with a Title, paragraphs ('# ' starts a Heading 1) and an optional table."""
    document = docx.Document()
    document.add_heading(title, level=0)
    for paragraph in paragraphs:
        if paragraph.startswith("# "):
            document.add_heading(paragraph[2:], level=1)
        else:
            document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=max(len(row) for row in table))
        for row_index, row in enumerate(table):
            for column_index, text in enumerate(row):
                grid.cell(row_index, column_index).text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


RESUME_LINES = [
    "Jane Q. Doe",
    "Senior Backend Engineer",
    "jane.doe@example.com | +1 (555) 010-2030 | Seattle, WA",
    "Skills",
    "Python, Go, PostgreSQL, Kafka, Docker",
    "Experience",
    "Senior Backend Engineer - Contoso Ltd | Jan 2020 - Dec 2024",
    "- Led the migration of 40 services to Kubernetes.",
    "Software Engineer at Fabrikam (Jun 2016 - Dec 2019)",
    "- Wrote Django services backed by PostgreSQL.",
    "Education",
    "University of Washington",
    "B.S. in Computer Science, 2016",
]
