"""Generate the sample resumes (PDF and DOCX), the candidate list and the call personas.

Run ``python -m samples.make_samples`` from the repository root; the output is committed, and re-running it
produces byte-identical files (fixed dates in the DOCX core properties, no timestamps in the PDFs).

The PDFs come from a minimal writer (Helvetica text, one content stream per page, a correct xref table):
small enough to read, and exactly what a text-based resume PDF contains.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent
RESUMES_DIR = SAMPLES_DIR / "resumes"
JOB_ID = "python-backend-engineer"
_LINES_PER_PAGE = 52
_FIXED_TIME = dt.datetime(2026, 1, 5, 9, 0, 0)


@dataclass(frozen=True)
class Candidate:
    """One sample candidate: contact details, resume text and how they behave on the interview call."""

    key: str
    name: str
    email: str
    phone: str
    time_zone: str
    file_format: str
    expected: str
    lines: tuple[str, ...]
    behaviour: str = "answers_well"
    answers: tuple[str, ...] = field(default_factory=tuple)


CANDIDATES: tuple[Candidate, ...] = (
    Candidate(
        key="ada-strong",
        name="Ada Lindqvist",
        email="ada.lindqvist@example.com",
        phone="+14255550201",
        time_zone="Europe/Stockholm",
        file_format="pdf",
        expected="advance, strong interview",
        lines=(
            "Ada Lindqvist",
            "Senior Backend Engineer | Stockholm, Sweden",
            "ada.lindqvist@example.com | +46 70 123 45 67",
            "",
            "Summary",
            "Backend engineer with eight years of Python,",
            "the last four building event-driven services on Azure.",
            "",
            "Experience",
            "Senior Backend Engineer, Nordlane Logistics",
            "Mar 2021 - Present",
            "- Designed Azure Durable Functions workflows that route 40,000 shipments a day",
            "- Built REST APIs in Python with FastAPI and PostgreSQL (SQL tuning, migrations)",
            "- Introduced idempotent activities and retries; cut failed orders by 70%",
            "Backend Engineer, Fjord Payments",
            "Jan 2018 - Feb 2021",
            "- Python and Django services for card payments, Kafka event streams",
            "- Docker and Kubernetes deployments with Terraform",
            "",
            "Education",
            "MSc Computer Science, KTH Royal Institute of Technology, 2017",
            "",
            "Skills",
            "Python, Azure, Durable Functions, REST, SQL, PostgreSQL, FastAPI, Django, Kafka,",
            "Docker, Kubernetes, Terraform, Testing, CI/CD, Mentoring",
        ),
        answers=(
            "I have eight years of Python experience; for the last four I built REST API services on Azure "
            "with Azure Functions and PostgreSQL.",
            "I make every step idempotent with a key derived from the workflow id, so a retry with backoff "
            "finds the earlier result instead of repeating the side effect.",
            "I write pytest unit tests for the logic and integration tests against emulators in CI, so the "
            "real SDK code runs on every change.",
            "I lead code reviews for my team and I enjoy mentoring; two engineers I mentor now own features.",
            "I can start in one month.",
        ),
    ),
    Candidate(
        key="ben-average",
        name="Ben Okafor",
        email="ben.okafor@example.com",
        phone="+14255550202",
        time_zone="Europe/London",
        file_format="docx",
        expected="needs review (Azure missing), fair interview",
        lines=(
            "Ben Okafor",
            "Software Developer | London, United Kingdom",
            "ben.okafor@example.com",
            "",
            "Experience",
            "Software Developer, Brightline Retail",
            "Jun 2020 - Present",
            "- Maintain Python and Flask REST services for the store inventory",
            "- Write SQL reports on MySQL",
            "Junior Developer, Cobalt Media",
            "Sep 2018 - May 2020",
            "- JavaScript and Python scripts for content publishing",
            "",
            "Education",
            "BSc Software Engineering, University of Leeds, 2018",
            "",
            "Skills",
            "Python, Flask, REST, SQL, MySQL, Docker, Git",
        ),
        answers=(
            "I mostly build Python services with Flask; we host them on virtual machines, not Azure yet.",
            "If a step fails we usually rerun the job by hand, but I added a retry around the payment call.",
            "I write some unit tests with pytest for the trickier functions.",
            "I work in a team of four and we do a code review for every pull request.",
            "I could start in two months.",
        ),
    ),
    Candidate(
        key="cara-weak",
        name="Cara Mendes",
        email="cara.mendes@example.com",
        phone="+14255550203",
        time_zone="America/Sao_Paulo",
        file_format="pdf",
        expected="reject",
        lines=(
            "Cara Mendes",
            "Office Coordinator | Sao Paulo, Brazil",
            "cara.mendes@example.com",
            "",
            "Experience",
            "Office Coordinator, Atlas Imports",
            "Feb 2022 - Present",
            "- Managed schedules, supplier contacts and monthly budgets in Excel",
            "",
            "Education",
            "Diploma in Business Administration, Sao Paulo Business School, 2021",
            "",
            "Skills",
            "Excel, Customer Service, Communication",
        ),
        behaviour="answers_poorly",
        answers=("I have not programmed before.", "I am not sure.", "I do not test.", "Alone.", "Now."),
    ),
    Candidate(
        key="dan-no-answer",
        name="Dan Whitaker",
        email="dan.whitaker@example.com",
        phone="+14255550204",
        time_zone="America/Chicago",
        file_format="docx",
        expected="advance, never answers the interview call (no-show)",
        lines=(
            "Dan Whitaker",
            "Platform Engineer | Chicago, United States",
            "dan.whitaker@example.com",
            "",
            "Experience",
            "Platform Engineer, Lakeshore Freight",
            "Apr 2019 - Present",
            "- Python REST APIs on Azure App Service and Azure Functions",
            "- SQL Server and PostgreSQL schemas, Durable Functions orchestrations",
            "Developer, Prairie Software",
            "Jul 2016 - Mar 2019",
            "- Python and SQL data services, Docker images, Terraform",
            "",
            "Education",
            "BSc Computer Engineering, University of Illinois, 2016",
            "",
            "Skills",
            "Python, Azure, Durable Functions, REST, SQL, Docker, Terraform, Testing",
        ),
        behaviour="no_answer",
    ),
    Candidate(
        key="eve-average",
        name="Eve Laurent",
        email="eve.laurent@example.com",
        phone="+14255550205",
        time_zone="Europe/Paris",
        file_format="pdf",
        expected="needs review (short on experience), good interview",
        lines=(
            "Eve Laurent",
            "Backend Developer | Paris, France",
            "eve.laurent@example.com",
            "",
            "Experience",
            "Backend Developer, Rivage Health",
            "Sep 2023 - Aug 2025",
            "- Python FastAPI REST services on Azure with PostgreSQL (SQL)",
            "- Added retries and monitoring to the appointment booking workflow",
            "",
            "Education",
            "MSc Computer Science, Sorbonne University, 2023",
            "",
            "Skills",
            "Python, FastAPI, Azure, REST, SQL, PostgreSQL, Docker, Testing",
        ),
        answers=(
            "I build Python FastAPI services on Azure with PostgreSQL for a health company.",
            "I added retries with backoff and made the booking step idempotent after an incident.",
            "I write pytest tests and a few integration tests that run in CI.",
            "I pair with a senior colleague and we review each other's code.",
            "I can start in six weeks.",
        ),
    ),
    Candidate(
        key="frank-corrupt",
        name="Frank Meyer",
        email="frank.meyer@example.com",
        phone="+14255550206",
        time_zone="Europe/Berlin",
        file_format="pdf",
        expected="fails at extraction: corrupt document",
        lines=(),
    ),
)


# ----------------------------------------------------------------------------------------------------
# PDF


def _pdf_escape(text: str) -> str:
    text = text.replace("\u2013", "-").replace("\u2014", "-")
    return (
        text.encode("latin-1", "replace")
        .decode("latin-1")
        .replace("\\", "\\\\")
        .replace("(", "\\(")
        .replace(")", "\\)")
    )


def make_pdf(lines: tuple[str, ...]) -> bytes:
    """Write a text PDF of ``lines``, 52 lines a page."""
    pages = [lines[i : i + _LINES_PER_PAGE] for i in range(0, len(lines), _LINES_PER_PAGE)] or [()]
    return pdf_document(pages)


def pdf_document(pages: Sequence[Sequence[str]]) -> bytes:
    """Write a text-layer PDF, one Helvetica 10.5 pt line per entry, every object's offset in the xref."""
    objects: list[bytes] = []
    page_ids = [3 + 2 * index for index in range(len(pages))]
    font_id = 3 + 2 * len(pages)
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    for index, page_lines in enumerate(pages):
        content_id = page_ids[index] + 1
        objects.append(
            (
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
                f" /Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {content_id} 0 R >>"
            ).encode()
        )
        body = ["BT", "/F1 10.5 Tf", "14 TL", "56 790 Td"]
        for line in page_lines:
            body.append(f"({_pdf_escape(line)}) Tj T*")
        body.append("ET")
        stream = "\n".join(body).encode("latin-1")
        objects.append(
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"
        )
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body_bytes in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body_bytes + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def make_corrupt_pdf() -> bytes:
    """Bytes that start like a PDF and then break off: no objects, no xref, no trailer."""
    return (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\n\x00\x17\x9f garbage"
        + bytes(range(64))
    )


# ----------------------------------------------------------------------------------------------------
# DOCX


def make_docx(lines: tuple[str, ...]) -> bytes:
    """Write a DOCX with python-docx, with section titles as headings; rezipped with fixed timestamps."""
    import docx

    document = docx.Document()
    headings = {"Summary", "Experience", "Education", "Skills"}
    for index, line in enumerate(lines):
        if index == 0:
            document.add_heading(line, level=1)
        elif line in headings:
            document.add_heading(line, level=2)
        elif line.startswith("- "):
            document.add_paragraph(line[2:], style="List Bullet")
        elif line:
            document.add_paragraph(line)
    properties = document.core_properties
    properties.author = "hireflow samples"
    properties.created = _FIXED_TIME
    properties.modified = _FIXED_TIME
    properties.last_modified_by = "hireflow samples"
    properties.revision = 1
    raw = io.BytesIO()
    document.save(raw)
    # Zip entries carry the current time; rewrite them with a fixed one so the output is reproducible.
    source = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
    fixed = io.BytesIO()
    with zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in sorted(source.infolist(), key=lambda i: i.filename):
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info.filename))
    return fixed.getvalue()


# ----------------------------------------------------------------------------------------------------
# Candidates and personas


def resume_file_name(candidate: Candidate) -> str:
    """File name of a candidate's resume under ``samples/resumes``."""
    return f"{candidate.key}.{candidate.file_format}"


def candidates_manifest() -> list[dict[str, str]]:
    """List what the demo and tests submit: the resume file and the contact details for each candidate."""
    return [
        {
            "key": c.key,
            "job_id": JOB_ID,
            "resume": f"resumes/{resume_file_name(c)}",
            "name": c.name,
            "email": c.email,
            "phone": c.phone,
            "time_zone": c.time_zone,
            "expected": c.expected,
        }
        for c in CANDIDATES
    ]


def personas() -> dict[str, object]:
    """Build the ACS emulator's personas file: each sample phone number → behaviour and answers."""
    entries: dict[str, object] = {}
    for c in CANDIDATES:
        entry: dict[str, object] = {"name": c.key, "behaviour": c.behaviour}
        if c.answers:
            entry["answers"] = list(c.answers)
        entries[c.phone] = entry
    return {
        "default": {"behaviour": "answers_well", "answers": list(CANDIDATES[0].answers)},
        "personas": entries,
    }


def write_all(target: Path = SAMPLES_DIR) -> list[Path]:
    """Write every generated sample under ``target``; returns the written paths."""
    resumes = target / "resumes"
    resumes.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for candidate in CANDIDATES:
        path = resumes / resume_file_name(candidate)
        if candidate.key.endswith("corrupt"):
            data = make_corrupt_pdf()
        elif candidate.file_format == "pdf":
            data = make_pdf(candidate.lines)
        else:
            data = make_docx(candidate.lines)
        path.write_bytes(data)
        written.append(path)
    for name, value in (("candidates.json", candidates_manifest()), ("personas.json", personas())):
        path = target / name
        path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_all():
        print(written_path.relative_to(SAMPLES_DIR.parent))
