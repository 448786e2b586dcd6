"""Rule-based resume reading: contact details, skills, experience with dates and years, education."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from emulators.brain.vocabulary import canonical_skill, skills_in_prose

_MONTHS = {
    name: index
    for index, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
            ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
            ("oct", "october"), ("nov", "november"), ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}  # fmt: skip

_MONTH_WORD = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = rf"(?:{_MONTH_WORD}\s+\d{{4}}|\d{{1,2}}/\d{{4}}|\d{{4}}-\d{{2}}|\d{{4}})"
_PRESENT = r"(?:present|current|now|today|ongoing)"
_RANGE = re.compile(rf"(?P<start>{_DATE})\s*(?:-|–|—|to|until)\s*(?P<end>{_DATE}|{_PRESENT})", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w/])\+?\d[\d\s().-]{7,}\d(?![\w/])")
_BULLET = re.compile(r"^\s*(?:[-*•·▪◦]|\d+\.)\s+")
_HEADINGS = {
    "skills": ("skills", "technical skills", "core skills", "key skills", "competencies", "technologies"),
    "experience": (
        "experience", "work experience", "professional experience", "employment", "employment history",
        "work history", "career history",
    ),
    "education": ("education", "education and training", "academic background", "qualifications"),
    "summary": ("summary", "profile", "professional summary", "about", "about me", "objective"),
    "other": ("projects", "certifications", "languages", "interests", "awards", "publications", "references"),
}  # fmt: skip
_DEGREE = re.compile(
    r"\b(?:ph\.?\s?d|doctor(?:ate)?|master(?:'s)?|m\.?\s?sc?|m\.?\s?eng|m\.?\s?a|mba|bachelor(?:'s)?|b\.?\s?sc?|"
    r"b\.?\s?eng|b\.?\s?a|associate(?:'s)?|diploma|certificate)\b\.?",
    re.IGNORECASE,
)
_INSTITUTION = re.compile(
    r"\b(?:universit\w*|universidad\w*|college|institut\w*|school|academy|polytechnic|hochschule|[ée]cole)\b",
    re.I,
)
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")


@dataclass(frozen=True)
class _Line:
    text: str
    section: str


def _heading_of(line: str) -> str | None:
    cleaned = re.sub(r"^[#\s]+", "", line).strip().rstrip(":").strip().lower()
    for section, names in _HEADINGS.items():
        if cleaned in names:
            return section
    return None


def _split_lines(text: str) -> list[_Line]:
    lines: list[_Line] = []
    section = "header"
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        heading = _heading_of(line)
        if heading is None and ":" in line:
            head, _, rest = line.partition(":")
            inline = _heading_of(head)
            if inline is not None and rest.strip():
                lines.append(_Line(rest.strip(), inline))
                continue
        if heading is not None:
            section = heading
            continue
        lines.append(_Line(line, section))
    return lines


def _parse_date(text: str) -> tuple[int, int] | None:
    """(year, month) of a resume date; a bare year means January for a start (callers adjust ends)."""
    text = text.strip().lower().rstrip(".")
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        return int(m[1]), int(m[2])
    if m := re.fullmatch(r"(\d{1,2})/(\d{4})", text):
        return int(m[2]), int(m[1])
    if m := re.fullmatch(r"([a-z]+)\.?\s+(\d{4})", text):
        month = _MONTHS.get(m[1]) or _MONTHS.get(m[1][:3])
        return (int(m[2]), month) if month else None
    if m := re.fullmatch(r"\d{4}", text):
        return int(m[0]), 1
    return None


def _months_between(start: tuple[int, int], end: tuple[int, int]) -> int:
    return max(0, (end[0] - start[0]) * 12 + (end[1] - start[1]))


def _looks_like_name(line: str) -> bool:
    words = line.replace(",", " ").split()
    return (
        2 <= len(words) <= 4
        and not any(ch.isdigit() for ch in line)
        and "@" not in line
        and all(w[0].isupper() for w in words if w[0].isalpha())
        and _heading_of(line) is None
    )


def _location_from(header: list[str]) -> str | None:
    for line in header:
        if m := re.search(r"\blocation\s*:\s*(.+)", line, re.IGNORECASE):
            return m[1].strip()
    for line in header:
        for part in re.split(r"\s*[|·•]\s*", line):
            part = part.strip()
            if _EMAIL.search(part) or _PHONE.search(part) or "http" in part.lower() or _RANGE.search(part):
                continue
            if re.fullmatch(r"[A-Z][A-Za-z .'-]+,\s*[A-Z][A-Za-z .'-]+", part):
                return part
    return None


def _split_title_company(text: str) -> tuple[str, str]:
    text = text.strip(" ,|-–—()")
    for separator in (" at ", " @ ", " — ", " – ", " - ", " | ", ", "):
        if separator in text:
            title, _, company = text.partition(separator)
            company = re.split(r"\s+[|–—-]\s+|,\s+", company.strip())[0]
            return title.strip(" ,|-–—"), company.strip(" ,|-–—")
    return text, ""


def _experience(lines: list[_Line], today: tuple[int, int]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    previous_plain: str | None = None
    for line in lines:
        if line.section != "experience":
            continue
        match = _RANGE.search(line.text)
        if match:
            start = _parse_date(match["start"])
            end_text = match["end"].strip().lower()
            is_present = re.fullmatch(_PRESENT, end_text) is not None
            end = None if is_present else _parse_date(end_text)
            if end is not None and re.fullmatch(r"\d{4}", end_text):
                end = (end[0], 12)
            if start is None:
                continue
            rest = (line.text[: match.start()] + " " + line.text[match.end() :]).strip(" ,|-–—()")
            title, company = _split_title_company(rest) if rest else ("", "")
            if (not company) and previous_plain:
                # A common layout puts "Title, Company" (or the company alone) on the line above the dates.
                above_title, above_company = _split_title_company(previous_plain)
                if title:
                    company = above_company if above_company else above_title
                    title = title if above_company == "" else above_title
                else:
                    title, company = above_title, above_company
            months = _months_between(start, end or today)
            current = {
                "title": title or "Professional",
                "company": company or "Unknown company",
                "start_date": f"{start[0]:04d}-{start[1]:02d}",
                "end_date": None if end is None else f"{end[0]:04d}-{end[1]:02d}",
                "years": round(months / 12, 1),
                "highlights": [],
                "_span": (start, end or today),
            }
            entries.append(current)
            previous_plain = None
        elif _BULLET.match(line.text) and current is not None:
            current["highlights"].append(_BULLET.sub("", line.text).strip())
        else:
            previous_plain = line.text
            if current is not None and not current["highlights"] and len(line.text.split()) > 6:
                current["highlights"].append(line.text)
    return entries


def _total_years(entries: list[dict[str, Any]]) -> float:
    """Years covered by the union of the entries' spans, so overlapping jobs are not counted twice."""
    spans = sorted((s[0] * 12 + s[1], e[0] * 12 + e[1]) for s, e in (entry["_span"] for entry in entries))
    total = 0
    cursor = -1
    for start, end in spans:
        start = max(start, cursor)
        if end > start:
            total += end - start
            cursor = end
    return round(total / 12, 1)


def _education(lines: list[_Line]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in lines:
        if line.section != "education":
            continue
        text = _BULLET.sub("", line.text)
        has_institution = _INSTITUTION.search(text) is not None
        degree_match = _DEGREE.search(text)
        if (
            current is None
            or (has_institution and current["institution"])
            or (degree_match and current["degree"])
        ):
            current = {"institution": "", "degree": "", "field": None, "graduation_year": None}
            entries.append(current)
        parts = [p.strip() for p in re.split(r"\s*[,|–—]\s*|\s+-\s+", text) if p.strip()]
        for part in parts:
            if _INSTITUTION.search(part) and not current["institution"]:
                current["institution"] = _YEAR.sub("", part).strip(" ()")
            elif _DEGREE.search(part) and not current["degree"]:
                degree_text = _YEAR.sub("", part).strip(" ()")
                if m := re.search(r"\b(?:in|of)\s+(.+)$", degree_text):
                    current["field"] = m[1].strip()
                    degree_text = degree_text[: m.start()].strip()
                elif (lead := _DEGREE.match(degree_text)) and degree_text[lead.end() :].strip():
                    # "BSc Computer Science": the words after the degree name are the field.
                    current["field"] = degree_text[lead.end() :].strip()
                    degree_text = degree_text[: lead.end()].strip()
                current["degree"] = degree_text
        if (year := _YEAR.findall(text)) and current["graduation_year"] is None:
            current["graduation_year"] = int(year[-1])
    cleaned = []
    for entry in entries:
        if not entry["institution"] and not entry["degree"]:
            continue
        entry["institution"] = entry["institution"] or "Unknown institution"
        entry["degree"] = entry["degree"] or "Unspecified degree"
        cleaned.append(entry)
    return cleaned


def _section_skills(lines: list[_Line]) -> list[str]:
    skills: list[str] = []
    for line in lines:
        if line.section != "skills":
            continue
        text = _BULLET.sub("", line.text)
        if ":" in text:
            # "Languages: Python, Go" lists skills after a category label.
            text = text.split(":", 1)[1]
        for item in re.split(r"\s*[,;|•·/]\s*|\s{2,}", text):
            item = item.strip(" .")
            if item and len(item) <= 40 and len(item.split()) <= 4:
                skills.append(canonical_skill(item))
    return skills


def _headline_parts(line: str) -> list[str]:
    """Return the parts of a header line that are not contact details or a location (`Title · City`)."""
    parts = [part.strip() for part in re.split(r"\s+[|·•]\s+", line) if part.strip()]
    return [
        part
        for part in parts
        if not _EMAIL.search(part)
        and not _PHONE.search(part)
        and "http" not in part.lower()
        and _location_from([part]) is None
        and not re.match(r"(?i)(phone|tel|email|location)\s*:", part)
    ]


def extract_profile(text: str, today: datetime | None = None) -> dict[str, Any]:
    """Read a resume into the `CandidateProfile` shape of the hiring contract (all fields present)."""
    now = today or datetime.now(UTC)
    today_ym = (now.year, now.month)
    lines = _split_lines(text)
    header = [line.text for line in lines if line.section == "header"][:8]
    name = next((line for line in header if _looks_like_name(line)), None)
    if name is None:
        name = next((line.text for line in lines if _looks_like_name(line.text)), "Unknown Candidate")
    email_match = _EMAIL.search(text)
    phone_match = next(
        (m for m in _PHONE.finditer(text) if sum(c.isdigit() for c in m[0]) >= 9 and not _RANGE.search(m[0])),
        None,
    )
    experience = _experience(lines, today_ym)
    skills: list[str] = []
    for skill in [*_section_skills(lines), *skills_in_prose(text)]:
        if skill.lower() not in {s.lower() for s in skills}:
            skills.append(skill)
    headline = next((part for line in header if line != name for part in _headline_parts(line)), None)
    if headline is None:
        headline = experience[0]["title"] if experience else "Candidate"
    total_years = _total_years(experience)
    for entry in experience:
        del entry["_span"]
    return {
        "full_name": name,
        "email": email_match[0] if email_match else None,
        "phone": " ".join(phone_match[0].split()) if phone_match else None,
        "location": _location_from(header),
        "headline": headline,
        "skills": skills,
        "total_years_experience": total_years,
        "experience": experience,
        "education": _education(lines),
    }
