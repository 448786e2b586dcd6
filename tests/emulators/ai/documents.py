"""Sample documents built in-process: text PDFs by the samples' writer, DOCX files via python-docx."""

from __future__ import annotations

import io
from collections.abc import Sequence

import docx

from samples.make_samples import pdf_document


def pdf_bytes(pages: Sequence[Sequence[str]]) -> bytes:
    """A valid PDF with one text line per entry, one page per sequence; pypdf reads it back."""
    return pdf_document(pages)


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
