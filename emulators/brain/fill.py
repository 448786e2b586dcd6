"""Fill a schema the brain was not taught with values drawn from the request's own text.

A developer's own model (a contact card, an invoice header, anything) arrives as a JSON schema with field
names, types, formats, enums and bounds. Each field is answered the way a reader would: a labelled line
("Invoice number: INV-2041") when the text has one, otherwise a value of the field's kind found anywhere in
the text (an email for `email`, a date for `issue_date`, a company for `employer`), an enum option by the
words the text contains, a number near the field's words fitted to its bounds. A nullable field whose value
the text does not hold is null, as a model would answer; a required one gets the plainest valid value. The
same text and schema always give the same answer.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from re import _parser as regex_parser  # type: ignore[attr-defined]
from typing import Any

from emulators.brain.schema import JsonSchema, SchemaError, resolve, schema_types, validate
from emulators.brain.vocabulary import canonical_skill, skills_in_prose

_MAX_DEPTH = 8

# Words that mean the same in a field name and in a label ("Tel:" answers `phone`).
_SYNONYMS: dict[str, str] = {
    "no": "number", "num": "number", "nr": "number", "nbr": "number",
    "tel": "phone", "telephone": "phone", "mobile": "phone", "cell": "phone", "cellphone": "phone",
    "mail": "email", "emailaddress": "email",
    "organisation": "organization", "org": "organization",
    "supplier": "vendor", "seller": "vendor", "merchant": "vendor", "payee": "vendor",
    "client": "customer", "buyer": "customer", "purchaser": "customer",
    "employer": "company",
    "website": "url", "homepage": "url", "site": "url", "link": "url", "web": "url", "uri": "url",
    "position": "title", "role": "title", "jobtitle": "title", "designation": "title",
    "qty": "quantity", "pcs": "quantity",
    "issued": "issue", "issuance": "issue",
    "zip": "postal", "postcode": "postal", "zipcode": "postal",
    "ccy": "currency", "cur": "currency", "vat": "tax", "gst": "tax",
    "surname": "last", "family": "last", "given": "first", "forename": "first",
    "dob": "birth", "birthday": "birth", "born": "birth",
    "emails": "email", "phones": "phone", "urls": "url", "links": "url", "websites": "url", "dates": "date",
    "names": "name", "titles": "title", "companies": "company", "locations": "location",
    "addresses": "address", "cities": "city", "countries": "country",
    "skill": "skills", "technologies": "skills", "technology": "skills", "stack": "skills",
    "competencies": "skills", "expertise": "skills", "tools": "skills",
}  # fmt: skip

# Whole label phrases that name a field differently from its words.
_LABEL_ALIASES: dict[str, tuple[str, ...]] = {
    "invoice date": ("issue", "date"),
    "date of issue": ("issue", "date"),
    "issue date": ("issue", "date"),
    "issued on": ("issue", "date"),
    "amount due": ("total",),
    "total due": ("total",),
    "grand total": ("total",),
    "balance due": ("total",),
    "total amount": ("total",),
    "bill to": ("customer",),
    "billed to": ("customer",),
    "sold to": ("customer",),
    "bill from": ("vendor",),
    "from": ("vendor", "sender"),
    "to": ("customer", "recipient"),
    "due": ("due", "date"),
    "payment due": ("due", "date"),
    "based in": ("location",),
    "job title": ("title",),
    "full name": ("name",),
}

# Words too common in labels to identify a field on their own ("Date:" alone does not say which date).
_GENERIC_WORDS = frozenset({"date", "name", "number", "id", "amount", "type", "code", "value", "the", "of"})

_COMPANY_WORDS = frozenset(
    {
        "company",
        "vendor",
        "organization",
        "business",
        "firm",
        "issuer",
        "bank",
        "customer",
        "employer",
        "brand",
    }
)
_PERSON_WORDS = frozenset(
    {
        "person", "contact", "candidate", "author", "sender", "recipient", "applicant", "employee", "owner",
        "attendee", "patient", "student", "user", "signatory", "manager", "interviewer", "referee",
    }
)  # fmt: skip
_LOCATION_WORDS = frozenset({"location", "city", "country", "address", "street", "region", "state", "place"})
_MONEY_WORDS = frozenset(
    {
        "total",
        "amount",
        "subtotal",
        "tax",
        "vat",
        "price",
        "cost",
        "fee",
        "balance",
        "salary",
        "budget",
        "paid",
    }
)
_PROSE_WORDS = frozenset(
    {"summary", "description", "notes", "note", "comment", "comments", "reason", "explanation", "body",
     "message", "content", "text", "purpose", "details", "abstract", "overview", "bio", "about"}
)  # fmt: skip
_BOOLEAN_PREFIXES = frozenset(
    {"is", "has", "can", "should", "was", "are", "allows", "allowed", "enabled", "needs"}
)

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
            ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
            ("oct", "october"), ("nov", "november"), ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}  # fmt: skip
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_PATTERNS = (
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[T ](?P<t>\d{2}:\d{2}(?::\d{2})?))?"),
    re.compile(rf"\b(?P<mon>{_MONTH})\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})\b", re.I),
    re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH})\s+(?P<y>\d{{4}})\b", re.I),
    re.compile(r"\b(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<y>\d{4})\b"),
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')]+|\b(?:linkedin|github)\.com/[^\s<>\"')]+", re.I)
_PHONE = re.compile(r"(?<![\w/+-])\+?\(?\d[\d\s().-]{5,}\d(?![\w/])")
_NUMBER = re.compile(
    r"(?<![\w.,])[-+]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?:\.\d{3})+,\d{1,2}|\d+(?:[.,]\d+)?)"
)
_YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
_LABEL = re.compile(r"^(?P<label>[A-Za-z][A-Za-z0-9 .#/&()'-]{0,40}?)\s*[:：]\s*(?P<value>.*)$")
_BULLET = re.compile(r"^\s*(?:[-*•·▪◦]|\d+[.)])\s+")
_SEGMENT_SPLIT = re.compile(r"\s+[|·•]\s+|\t+|\s{3,}")
# A capitalised word, accents included ("Tomás", "Ørsted").
_CAP_WORD = "[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+"
_CAPITALISED = re.compile(rf"\b{_CAP_WORD}(?:[ '-]{_CAP_WORD}){{1,2}}\b")
_NAME_LEAD = re.compile(
    r"(?:my name is|i am|i'm|this is|regards,|sincerely,|best,|thanks,|signed,?|contact:?)\s+"
    rf"(?P<name>{_CAP_WORD}(?:[ '-]{_CAP_WORD}){{1,2}})",
    re.I,
)
_COMPANY_SUFFIX = re.compile(
    r"\b(?:[A-Z][\w&.'-]*\s+){0,3}[A-Z][\w&.'-]*,?\s+(?:Inc\.?|Ltd\.?|LLC|GmbH|Corp\.?|Corporation|Co\.|"
    r"S\.A\.|SA|AG|plc|PLC|Limited|Group|Labs|Technologies|Solutions|Systems|Analytics|Software|Consulting|"
    r"Partners|Bank|Ltda\.?|BV|B\.V\.|Pty Ltd|Studios?|Industries|Holdings)(?![\w])"
)
_COMPANY_LEAD = re.compile(
    r"\b(?:works? (?:at|for)|working (?:at|for)|joined|employed (?:at|by)|at)\s+"
    r"(?P<company>[A-Z][\w&'-]*(?:\s+[A-Z][\w&'-]*){0,2})"
)
_ROLE_NOUNS = (
    "Engineer|Developer|Manager|Director|Designer|Analyst|Scientist|Consultant|Architect|Specialist|"
    "Administrator|Accountant|Recruiter|Officer|Coordinator|Intern|Nurse|Teacher|Researcher|Technician|"
    "Writer|Editor|Advisor|Representative|Executive|Strategist|Founder|President|Programmer|Tester|"
    "Product Owner|Scrum Master|Lead"
)
_ROLE = re.compile(rf"\b(?:[A-Za-z/&+.-]+\s+){{0,3}}(?:{_ROLE_NOUNS})s?\b|\b(?:CEO|CTO|CFO|COO|CIO)\b", re.I)
_ROLE_LEADING_NOISE = frozenset(
    {"a", "an", "the", "as", "is", "am", "i", "work", "works", "worked", "our", "my", "and", "with", "for",
     "was", "be", "hire", "hiring", "new", "to", "of", "in", "at", "im", "i'm", "been", "now"}
)  # fmt: skip
_LOCATION_PAIR = re.compile(
    r"\b[A-Z][A-Za-z.'-]+(?: [A-Z][A-Za-z.'-]+)?, *[A-Z][A-Za-z'-]+(?: [A-Z][A-Za-z'-]+)?\b"
)
_LOCATION_LEAD = re.compile(
    r"\b(?:based in|located in|lives in|living in|live in|relocating to|moving to|office in|from)\s+"
    r"(?P<place>[A-Z][A-Za-z'-]+(?:,? [A-Z][A-Za-z'-]+){0,2})"
)
_STREET = re.compile(
    r"\b\d+[A-Za-z]?\s+(?:[A-Z][\w.'-]*\s+){0,4}(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Lane|Ln\.?|"
    r"Boulevard|Blvd\.?|Drive|Dr\.?|Way|Place|Pl\.?|Square|Sq\.?|Court|Ct\.?)(?![\w])[^\n]*"
    # Continental layouts put the number after the street: "Hauptstrasse 5", "Rua Augusta 27".
    r"|\b(?:(?:Rua|Avenida|Calle|Via|Rue|Carrer|Plaza)\s+(?:[A-Z][\w'-]*\s+){0,3}|[A-Z][\w'-]*"
    r"(?:strasse|straße|str\.|weg|gasse|platz|allee|laan|straat|vej|gatan|vägen)\s+)\d+[a-z]?\b[^\n]*"
)
_NOT_A_NAME = frozenset(
    {*(m.capitalize() for m in _MONTHS), "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
     "Sunday", "Dear", "Hello", "Hi", "Street", "Road", "Avenue", "Invoice", "Total", "Date", "Due", "Inc",
     "Ltd", "Thanks", "Regards", "Best", "Subject", "Re", "Phone", "Email", "Bill", "Amount", "The"}
)  # fmt: skip
_CURRENCY_SIGNS: dict[str, tuple[str, ...]] = {
    "usd": ("$", "us$", "dollar", "dollars"),
    "eur": ("€", "euro", "euros"),
    "gbp": ("£", "pound", "pounds", "sterling"),
    "jpy": ("¥", "yen"),
    "inr": ("₹", "rupee", "rupees"),
    "brl": ("r$", "real", "reais"),
    "chf": ("franc", "francs"),
}
_NEGATION = re.compile(
    r"\b(?:not|no|non|without|never|isn't|aren't|doesn't|don't|won't)\b[\s-]*(?:\w+\s+){0,2}$", re.I
)


def field_words(name: str) -> tuple[str, ...]:
    """Split a field or label name into canonical lower-case words (`invoiceNo` -> `invoice`, `number`)."""
    spaced = re.sub(
        r"([a-z0-9])([A-Z])", r"\1 \2", name.replace("e-mail", "email").replace("E-mail", "Email")
    )
    spaced = spaced.replace("#", " number ")
    words = re.findall(r"[a-z]+|\d+", spaced.lower())
    return tuple(_SYNONYMS.get(word, word) for word in words)


def _label_word_sets(label: str) -> list[tuple[str, ...]]:
    cleaned = " ".join(re.findall(r"[a-z#]+", label.lower()))
    sets = [field_words(label)]
    if cleaned in _LABEL_ALIASES:
        sets.append(_LABEL_ALIASES[cleaned])
    return sets


@dataclass(frozen=True)
class _Labelled:
    words: list[tuple[str, ...]]
    value: str
    block: str
    position: int


@dataclass
class _Found:
    """One extracted value and whether the text really held it (False: a plain default)."""

    value: Any
    found: bool


def _match_score(field: Sequence[str], label: Sequence[str]) -> int:
    wanted, offered = set(field), set(label)
    if not wanted or not offered:
        return 0
    if wanted == offered:
        return 3
    if wanted < offered:
        return 2
    if offered < wanted and offered - _GENERIC_WORDS:
        return 1
    return 0


def _iso_date(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    year = int(groups["y"])
    if groups.get("mon"):
        month = _MONTHS.get(groups["mon"].lower().rstrip(".")) or _MONTHS.get(groups["mon"].lower()[:3])
        day = int(groups["d"])
    elif groups.get("a"):
        first, second = int(groups["a"]), int(groups["b"])
        # 03/04/2025 reads month first unless the first part cannot be a month.
        month, day = (second, first) if first > 12 else (first, second)
    else:
        month, day = int(groups["m"]), int(groups["d"])
    if not month or not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def _parse_number(text: str) -> float | None:
    cleaned = text.strip()
    if re.fullmatch(r"[-+]?\d{1,3}(?:\.\d{3})+,\d{1,2}", cleaned):
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"[-+]?\d+,\d{1,2}", cleaned):
        cleaned = cleaned.replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    try:
        return float(cleaned)
    except ValueError:
        return None


class PromptText:
    """What a request's text holds: labelled lines, and values of each kind in reading order."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = [line.strip() for line in text.splitlines() if line.strip()]
        self.labelled = self._labelled()
        self.dates = self._dates()
        masked = text
        for pattern in (_EMAIL, _URL):
            masked = pattern.sub(lambda m: " " * len(m[0]), masked)
        for start, end, _ in self.dates:
            masked = masked[:start] + " " * (end - start) + masked[end:]
        self.phones = [
            " ".join(m[0].split())
            for m in _PHONE.finditer(masked)
            if sum(c.isdigit() for c in m[0]) >= 7
            and not _YEAR.fullmatch(m[0].strip())
            and not re.fullmatch(r"[\d,.]+", m[0].strip())
        ]
        for phone in _PHONE.finditer(masked):
            if sum(c.isdigit() for c in phone[0]) >= 7 and " ".join(phone[0].split()) in self.phones:
                masked = masked[: phone.start()] + " " * len(phone[0]) + masked[phone.end() :]
        # Numbers are read from text with emails, links, dates and phone numbers blanked out.
        self.masked = masked

    def _labelled(self) -> list[_Labelled]:
        found: list[_Labelled] = []
        raw_lines = [line.strip() for line in self.text.splitlines()]
        for index, line in enumerate(raw_lines):
            for segment in _SEGMENT_SPLIT.split(_BULLET.sub("", line)):
                match = _LABEL.match(segment.strip())
                if match is None or "//" in match["value"][:2]:
                    continue
                value = match["value"].strip()
                following: list[str] = []
                for later in raw_lines[index + 1 : index + 9]:
                    later_label = _LABEL.match(later)
                    # A header ("Bill to:") owns the lines up to a blank line or the next header; a labelled
                    # value owns only the plain lines that continue it.
                    if not later or (later_label is not None and (value or not later_label["value"].strip())):
                        break
                    following.append(later)
                if not value and following:
                    value = following[0]
                block = "\n".join([match["value"].strip(), *following]).strip()
                found.append(_Labelled(_label_word_sets(match["label"]), value, block, index))
        return found

    def _dates(self) -> list[tuple[int, int, str]]:
        spans: list[tuple[int, int, str]] = []
        for pattern in _DATE_PATTERNS:
            for match in pattern.finditer(self.text):
                if any(start <= match.start() < end for start, end, _ in spans):
                    continue
                iso = _iso_date(match)
                if iso is not None:
                    time = match.groupdict().get("t")
                    spans.append((match.start(), match.end(), f"{iso}T{time}" if time else iso))
        return sorted(spans)

    def label_for(self, words: Sequence[str], skip: frozenset[str] = frozenset()) -> _Labelled | None:
        """Return the labelled line that best names a field with these words (values in `skip` left out)."""
        best: tuple[int, int, _Labelled] | None = None
        for entry in self.labelled:
            if entry.value in skip:
                continue
            score = max(_match_score(words, label) for label in entry.words)
            if score and (best is None or score > best[0]):
                best = (score, -entry.position, entry)
        return None if best is None else best[2]

    def candidates(self, kind: str) -> list[str]:
        """Values of a kind in reading order (the text's own spelling)."""
        if kind == "email":
            return _EMAIL.findall(self.text)
        if kind == "url":
            return [m[0].rstrip(".,;:") for m in _URL.finditer(self.text)]
        if kind == "phone":
            return self.phones
        if kind == "date":
            return [iso for _, _, iso in self.dates]
        if kind == "year":
            return _YEAR.findall(self.masked)
        if kind == "person":
            return self._people()
        if kind == "company":
            return self._companies()
        if kind == "title":
            return self._titles()
        if kind == "location":
            return self._locations()
        if kind == "address":
            return [m[0].strip(" ,") for m in _STREET.finditer(self.text)] + self._locations()
        return []

    def _people(self) -> list[str]:
        people = [m["name"] for m in _NAME_LEAD.finditer(self.text)]
        companies = " ".join(self._companies())
        for line in self.lines:
            words = line.split()
            if (
                2 <= len(words) <= 3
                and all(re.fullmatch(rf"{_CAP_WORD}(?:[-']{_CAP_WORD})?", w) for w in words)
                and not set(words) & _NOT_A_NAME
                and not _ROLE.fullmatch(line)
            ):
                people.append(line)
        for match in _CAPITALISED.finditer(self.text):
            phrase = match[0]
            if set(re.split(r"[ '-]", phrase)) & _NOT_A_NAME or phrase in companies or _ROLE.search(phrase):
                continue
            people.append(phrase)
        return people

    def _companies(self) -> list[str]:
        found = [m[0].strip(" ,") for m in _COMPANY_SUFFIX.finditer(self.text)]
        found.extend(
            m["company"] for m in _COMPANY_LEAD.finditer(self.text) if m["company"] not in _NOT_A_NAME
        )
        return found

    def _titles(self) -> list[str]:
        titles: list[str] = []
        for match in _ROLE.finditer(self.text):
            words = match[0].split()
            while words and words[0].lower() in _ROLE_LEADING_NOISE:
                words.pop(0)
            if words:
                titles.append(" ".join(words))
        return titles

    def _locations(self) -> list[str]:
        places = [m["place"] for m in _LOCATION_LEAD.finditer(self.text)]
        for match in _LOCATION_PAIR.finditer(self.text):
            phrase = match[0]
            if _COMPANY_SUFFIX.search(phrase) or set(re.split(r"[ ,]+", phrase)) & _NOT_A_NAME:
                continue
            places.append(phrase)
        return places

    def number_near(self, words: Sequence[str]) -> float | None:
        """Return the number closest to the field's words on the line that names them best."""
        if not words:
            return None
        lookup = {w for w in words if w not in {"of", "the", "number"}} or set(words)
        best: tuple[int, int, float] | None = None
        offset = 0
        for raw_line in self.masked.splitlines(keepends=True):
            line = raw_line.lower()
            hits = [m.end() for word in lookup for m in re.finditer(rf"\b{re.escape(word)}s?\b", line)]
            hits.extend(m.end() for m in _synonym_hits(lookup, line))
            numbers = [(m.start(), _parse_number(m[0])) for m in _NUMBER.finditer(raw_line)]
            numbers = [(pos, value) for pos, value in numbers if value is not None]
            if hits and numbers:
                anchor = min(hits)
                # A number after the words ("Total: 12", "unit price 400") wins over one before them; a number
                # before them ("12 floors") counts when none follows.
                _position, value = min(numbers, key=lambda n: (n[0] < anchor, abs(n[0] - anchor)))
                matched = len({w for w in lookup if re.search(rf"\b{re.escape(w)}s?\b", line)})
                score = (matched, -offset)
                if best is None or score > (best[0], best[1]):
                    assert value is not None
                    best = (score[0], score[1], value)
            offset += len(raw_line)
        return None if best is None else best[2]


def _synonym_hits(lookup: Iterable[str], line: str) -> list[re.Match[str]]:
    spelled = [raw for raw, canonical in _SYNONYMS.items() if canonical in lookup]
    return [m for raw in spelled for m in re.finditer(rf"\b{re.escape(raw)}\b", line)]


@dataclass
class _Context:
    text: PromptText
    parent: _Context | None = None
    used: set[tuple[str, str]] = field(default_factory=set)

    def candidates(self, kind: str) -> list[str]:
        own = self.text.candidates(kind)
        return own if self.parent is None else [*own, *self.parent.candidates(kind)]

    def label_for(self, words: Sequence[str]) -> _Labelled | None:
        own = self.text.label_for(words)
        if own is not None or self.parent is None:
            return own
        # Outside its own block a nested object only takes labelled values no other field has taken.
        taken = frozenset(value for kind, value in self.used if kind == "label")
        return self.parent.text.label_for(words, taken)

    def take(self, kind: str, accept: Any = None) -> str | None:
        """Return the first value of a kind no other field has taken, and mark it taken."""
        for candidate in self.candidates(kind):
            if (kind, candidate) in self.used or (accept is not None and not accept(candidate)):
                continue
            self.used.add((kind, candidate))
            return candidate
        return None


def _kind_of(words: Sequence[str], parents: Sequence[str], schema: JsonSchema) -> str:
    """Tell what a field holds, judged by its words, its parent object's words, its format and its type."""
    fmt = schema.get("format")
    ws = set(words)
    context = set(parents[-1:])
    if fmt == "email" or "email" in ws:
        return "email"
    if fmt in ("uri", "url") or ws & {"url", "linkedin", "github"}:
        return "url"
    if "phone" in ws or "fax" in ws:
        return "phone"
    if (
        fmt in ("date", "date-time")
        or ws & {"date", "birth", "deadline"}
        or (words and words[-1] in ("at", "on"))
    ):
        return "date"
    if "year" in ws:
        return "year"
    if "skills" in ws:
        return "skills"
    if ws & {"address", "street"}:
        return "address"
    if "city" in ws:
        return "city"
    if "country" in ws:
        return "country"
    if ws & _LOCATION_WORDS:
        return "location"
    if "first" in ws and ("name" in ws or len(ws) == 1):
        return "first_name"
    if "last" in ws and ("name" in ws or len(ws) == 1):
        return "last_name"
    if ws & {"title", "headline", "occupation", "job"}:
        return "title"
    if ws & {"customer", "recipient", "payer", "party"}:
        # A customer may be a business or a person: a company if the text names one, else a person.
        return "party"
    if ws & _COMPANY_WORDS:
        return "company"
    if "name" in ws or ws & _PERSON_WORDS:
        if (context | ws) & _COMPANY_WORDS:
            return "company"
        return "person"
    if ws & _MONEY_WORDS:
        return "money"
    if ws & _PROSE_WORDS:
        return "prose"
    if ws & {"query", "question", "search", "prompt", "request"}:
        return "query"
    return "text"


def _format_date(iso: str, fmt: Any) -> str:
    if fmt == "date-time":
        if "T" in iso:
            return iso + (":00" if iso.count(":") == 1 else "") + "Z"
        return f"{iso}T00:00:00Z"
    return iso.split("T", 1)[0]


_CATEGORY_CLASSES = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}


def _sample_for_pattern(pattern: str) -> str | None:
    """Build a short string matching `pattern` (common regex constructs; None when it cannot)."""

    def build(items: Any) -> str:
        out: list[str] = []
        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(arg))
            elif name == "ANY":
                out.append("x")
            elif name == "NOT_LITERAL":
                out.append("x" if arg != ord("x") else "y")
            elif name == "IN":
                out.append(pick(arg))
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, _high, sub = arg
                out.append(build(sub) * max(int(low), 0))
            elif name == "SUBPATTERN":
                out.append(build(arg[-1]))
            elif name == "BRANCH":
                out.append(build(arg[1][0]))
            elif name == "AT":
                continue
            else:
                raise ValueError(name)
        return "".join(out)

    def pick(options: Any) -> str:
        if options and str(options[0][0]) == "NEGATE":
            # A negated class: the first plain character the class does not exclude.
            return next(ch for ch in "xa0_- " if not accepts(options[1:], ch))
        for op, arg in options:
            name = str(op)
            if name == "LITERAL":
                return chr(arg)
            if name == "RANGE":
                return chr(arg[0])
            if name == "CATEGORY":
                return {"CATEGORY_DIGIT": "0", "CATEGORY_SPACE": " "}.get(str(arg), "a")
        return "a"

    def accepts(options: Any, ch: str) -> bool:
        for op, arg in options:
            name = str(op)
            if (name == "LITERAL" and ch == chr(arg)) or (name == "RANGE" and arg[0] <= ord(ch) <= arg[1]):
                return True
            if name == "CATEGORY" and re.fullmatch(_CATEGORY_CLASSES.get(str(arg), "(?!)"), ch):
                return True
        return False

    try:
        sample = build(regex_parser.parse(pattern))
    except (ValueError, re.error, TypeError, IndexError, StopIteration):
        return None
    return sample if re.search(pattern, sample) else None


def _fit_string(value: str, schema: JsonSchema, filler: str) -> str:
    max_length = schema.get("maxLength")
    if isinstance(max_length, int) and len(value) > max_length:
        cut = value[:max_length]
        value = (
            cut.rsplit(" ", 1)[0]
            if " " in cut and len(cut.rsplit(" ", 1)[0]) >= schema.get("minLength", 0)
            else cut
        )
    min_length = schema.get("minLength")
    if isinstance(min_length, int) and len(value) < min_length:
        value = (value + " " + filler).strip() if filler else value
        while len(value) < min_length:
            value += " " + (filler or "n/a")
        if isinstance(max_length, int):
            value = value[:max_length]
    return value


def _fit_number(value: float, schema: JsonSchema, integer: bool) -> int | float:
    """Move a number into the schema's bounds and onto its `multipleOf` grid, staying as close as it can."""
    low, high = schema.get("minimum"), schema.get("maximum")
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    step = schema.get("multipleOf")

    def inside(x: float) -> bool:
        return (
            (low is None or x >= low)
            and (high is None or x <= high)
            and (ex_low is None or x > ex_low)
            and (ex_high is None or x < ex_high)
        )

    def on_grid(x: float) -> bool:
        if not isinstance(step, int | float) or step <= 0:
            return True
        # JSON Schema validators test multipleOf by float division (or modulo for an integer step).
        return x % step == 0 if isinstance(step, int) else float(x / step).is_integer()

    grid = (
        Decimal(str(step)) if isinstance(step, int | float) and step > 0 else Decimal(1) if integer else None
    )
    if grid is None:
        clamped = value
        if low is not None:
            clamped = max(clamped, float(low))
        if high is not None:
            clamped = min(clamped, float(high))
        if inside(clamped):
            return clamped
        floor = ex_low if ex_low is not None else low
        ceiling = ex_high if ex_high is not None else high
        # Just past an exclusive bound by one, or halfway when the bounds are closer than that.
        options = [float(floor) + 1] if floor is not None else []
        options += [float(ceiling) - 1] if ceiling is not None else []
        if floor is not None and ceiling is not None:
            options.append((float(floor) + float(ceiling)) / 2)
        fitting = [x for x in options if inside(x)]
        return min(fitting, key=lambda x: abs(x - value)) if fitting else clamped
    try:
        nearest = int((Decimal(str(value)) / grid).to_integral_value(rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return value
    bounds = [b for b in (low, ex_low) if b is not None], [b for b in (high, ex_high) if b is not None]
    if bounds[0]:
        nearest = max(
            nearest, int((Decimal(str(max(bounds[0]))) / grid).to_integral_value(rounding="ROUND_FLOOR"))
        )
    if bounds[1]:
        nearest = min(
            nearest, int((Decimal(str(min(bounds[1]))) / grid).to_integral_value(rounding="ROUND_CEILING"))
        )
    for distance in range(64):
        for k in (nearest + distance, nearest - distance) if distance else (nearest,):
            exact = Decimal(k) * grid
            if integer and exact != exact.to_integral_value():
                continue
            candidate: int | float = int(exact) if integer else float(exact)
            if inside(candidate) and on_grid(candidate):
                return candidate
    return int(value) if integer else value


class SchemaFiller:
    """Answers one schema from one text; see the module docstring."""

    def __init__(self, text: str, root: JsonSchema) -> None:
        self.root = root
        self.context = _Context(PromptText(text))

    def fill(self) -> Any:
        """Return the whole answer."""
        return self._value(self.root, (), self.context, 0).value

    # ------------------------------------------------------------------ dispatch

    def _value(self, schema: JsonSchema, path: tuple[str, ...], ctx: _Context, depth: int) -> _Found:
        schema = resolve(schema, self.root)
        if "const" in schema:
            return _Found(schema["const"], True)
        if "anyOf" in schema or "oneOf" in schema:
            return self._union(list(schema.get("anyOf") or schema.get("oneOf") or []), path, ctx, depth)
        types = schema_types(schema)
        nullable = "null" in types
        concrete = [t for t in types if t != "null"]
        if not concrete and types == ["null"]:
            return _Found(None, True)
        if len(concrete) > 1:
            branches = [{**schema, "type": t} for t in concrete]
            if nullable:
                branches.append({"type": "null"})
            return self._union(branches, path, ctx, depth)
        found = self._concrete(schema, concrete[0] if concrete else "", path, ctx, depth)
        if nullable and not found.found:
            return _Found(None, False)
        return found

    def _union(self, branches: list[Any], path: tuple[str, ...], ctx: _Context, depth: int) -> _Found:
        resolved = [resolve(b, self.root) for b in branches]
        nullable = any(schema_types(b) == ["null"] for b in resolved)
        concrete = [b for b in resolved if schema_types(b) != ["null"]]
        if nullable and depth > _MAX_DEPTH:
            return _Found(None, False)
        first: _Found | None = None
        for branch in concrete:
            found = self._value(branch, path, ctx, depth + 1)
            if validate(found.value, branch, self.root):
                continue  # what the text gave does not fit this branch: try the next one
            if found.found:
                return found
            first = first or found
        if nullable or first is None:
            return _Found(None, False)
        return first

    def _concrete(
        self, schema: JsonSchema, json_type: str, path: tuple[str, ...], ctx: _Context, depth: int
    ) -> _Found:
        if schema.get("enum"):
            return self._enum(schema, path, ctx)
        if json_type == "object" or (not json_type and "properties" in schema):
            return self._object(schema, path, ctx, depth)
        if json_type == "array":
            return self._array(schema, path, ctx, depth)
        if json_type in ("integer", "number"):
            return self._number(schema, path, ctx, json_type == "integer")
        if json_type == "boolean":
            return self._boolean(path, ctx)
        return self._string(schema, path, ctx)

    # ------------------------------------------------------------------ containers

    def _object(self, schema: JsonSchema, path: tuple[str, ...], ctx: _Context, depth: int) -> _Found:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        if depth > _MAX_DEPTH:
            return _Found({}, False)
        inner = ctx
        if path:
            # A nested object ("vendor") reads its fields from the block under its own label first.
            label = ctx.text.label_for(field_words(path[-1]))
            if label is not None and label.block:
                inner = _Context(PromptText(label.block), ctx, ctx.used)
        values: dict[str, Any] = {}
        any_found = False
        for name, sub in properties.items():
            found = self._value(sub, (*path, name), inner, depth + 1)
            values[name] = found.value
            any_found = any_found or found.found
        return _Found(values, any_found)

    def _array(self, schema: JsonSchema, path: tuple[str, ...], ctx: _Context, depth: int) -> _Found:
        items = schema.get("items")
        items_schema: JsonSchema = resolve(items, self.root) if isinstance(items, Mapping) else {}
        min_items = int(schema.get("minItems", 0))
        max_items = schema.get("maxItems")
        words = self._words(path)
        item_types = schema_types(items_schema)
        values: list[Any] = []
        found_any = False
        if "object" in item_types or "properties" in items_schema:
            if depth <= _MAX_DEPTH:
                for row in self._rows(path, ctx):
                    found = self._value(
                        items_schema, path, _Context(PromptText(row), None, ctx.used), depth + 1
                    )
                    if found.found:
                        values.append(found.value)
                        found_any = True
                if not values and min_items:
                    values.append(self._value(items_schema, path, ctx, depth + 1).value)
        else:
            for text in self._list_values(words, items_schema, path, ctx):
                values.append(text)
                found_any = True
        if isinstance(max_items, int):
            values = values[:max_items]
        while len(values) < min_items:
            values.append(self._value(items_schema, path, ctx, depth + 1).value)
        return _Found(values, found_any)

    def _rows(self, path: tuple[str, ...], ctx: _Context) -> list[str]:
        label = ctx.text.label_for(field_words(path[-1])) if path else None
        lines = label.block.splitlines() if label is not None else ctx.text.lines
        rows = [_BULLET.sub("", line) for line in lines if _BULLET.match(line)]
        if not rows and label is not None:
            rows = [line for line in lines if line.strip()]
        return rows

    def _list_values(
        self, words: Sequence[str], items_schema: JsonSchema, path: tuple[str, ...], ctx: _Context
    ) -> list[Any]:
        kind = _kind_of(words, path[:-1], items_schema)
        label = ctx.label_for(words)
        listed = (
            [
                part.strip(" .")
                for part in re.split(r"\s*[,;|/]\s*|\s+and\s+", label.value)
                if part.strip(" .")
            ]
            if label is not None
            else []
        )
        values: list[Any] = []
        if kind == "skills":
            seen: set[str] = set()
            for skill in [*(canonical_skill(s) for s in listed), *skills_in_prose(ctx.text.text)]:
                if skill.lower() not in seen:
                    seen.add(skill.lower())
                    values.append(skill)
        elif listed:
            values = listed
        elif kind in ("email", "url", "phone", "date", "year", "person", "company", "title", "location"):
            values = list(dict.fromkeys(ctx.text.candidates(kind)))
        elif set(words) & _PROSE_WORDS or words[-1:] in (("highlights",), ("responsibilities",), ("items",)):
            values = [_BULLET.sub("", line) for line in ctx.text.lines if _BULLET.match(line)]
        shaped: list[Any] = []
        for value in values:
            fitted = self._shape_text(str(value), items_schema, kind)
            if fitted is not None:
                shaped.append(fitted)
        return shaped

    def _shape_text(self, value: str, schema: JsonSchema, kind: str) -> Any:
        types = [t for t in schema_types(schema) if t != "null"]
        if (
            "const" in schema
            or schema_types(schema) == ["null"]
            or (types and types[0] not in ("string", "integer", "number"))
        ):
            return None  # list items that are not text or numbers are not read from a list of words
        if types and types[0] in ("integer", "number"):
            number = _parse_number(value)
            return None if number is None else _fit_number(number, schema, types[0] == "integer")
        if schema.get("enum"):
            return next((o for o in schema["enum"] if str(o).lower() == value.lower()), None)
        if kind == "date":
            value = _format_date(value, schema.get("format"))
        shaped = _fit_string(value, schema, "")
        return shaped if self._string_ok(shaped, schema) else None

    # ------------------------------------------------------------------ leaves

    def _words(self, path: tuple[str, ...]) -> tuple[str, ...]:
        return field_words(path[-1]) if path else ()

    def _enum(self, schema: JsonSchema, path: tuple[str, ...], ctx: _Context) -> _Found:
        options: list[Any] = list(schema["enum"])
        words = self._words(path)
        label = ctx.label_for(words) if words else None
        texts = [label.value] if label is not None else []
        texts.append(ctx.text.text)
        for text in texts:
            lowered = text.lower()
            scored: list[tuple[int, int, int]] = []
            for index, option in enumerate(options):
                positions = _option_positions(option, lowered)
                if positions:
                    scored.append((len(positions), -positions[0], -index))
            if scored:
                best = max(scored)
                return _Found(options[-best[2]], True)
        return _Found(options[0], False)

    def _number(self, schema: JsonSchema, path: tuple[str, ...], ctx: _Context, integer: bool) -> _Found:
        words = self._words(path)
        kind = _kind_of(words, path[:-1], schema)
        value: float | None = None
        label = ctx.label_for(words) if words else None
        if label is not None:
            match = _NUMBER.search(PromptText(label.value).masked)
            value = _parse_number(match[0]) if match else None
        if value is None and kind == "year":
            year = ctx.take("year")
            value = float(year) if year else None
        if value is None and words:
            value = ctx.text.number_near(words)
        if value is None:
            low = schema.get("minimum", schema.get("exclusiveMinimum"))
            return _Found(_fit_number(float(low) if low is not None else 0.0, schema, integer), False)
        if integer:
            value = float(round(value))
        return _Found(_fit_number(value, schema, integer), True)

    def _boolean(self, path: tuple[str, ...], ctx: _Context) -> _Found:
        words = [w for w in self._words(path) if w not in _BOOLEAN_PREFIXES]
        label = ctx.label_for(self._words(path)) if path else None
        if label is not None:
            answer = label.value.strip().lower()
            if answer.startswith(("yes", "true", "y", "1")):
                return _Found(True, True)
            if answer.startswith(("no", "false", "n", "0")):
                return _Found(False, True)
        lowered = ctx.text.text.lower()
        for word in words:
            for match in re.finditer(rf"\b{re.escape(word)}", lowered):
                negated = _NEGATION.search(lowered[max(0, match.start() - 30) : match.start()])
                return _Found(negated is None, True)
        return _Found(False, False)

    def _string(self, schema: JsonSchema, path: tuple[str, ...], ctx: _Context) -> _Found:
        words = self._words(path)
        kind = _kind_of(words, path[:-1], schema)
        fmt = schema.get("format")
        value = self._labelled_string(words, kind, schema, ctx) or self._string_of_kind(kind, schema, ctx)
        pattern = schema.get("pattern")
        if value is not None and not self._string_ok(value, schema):
            value = None
        if value is None and isinstance(pattern, str):
            value = self._pattern_in_text(pattern, ctx)
        if value is not None:
            ctx.used.add((kind, value))
            return _Found(value, True)
        return _Found(self._plain_string(schema, kind, path, fmt), False)

    def _labelled_string(
        self, words: Sequence[str], kind: str, schema: JsonSchema, ctx: _Context
    ) -> str | None:
        if not words:
            return None
        label = ctx.label_for(words)
        if label is None or not label.value:
            return None
        ctx.used.add(("label", label.value))
        raw = label.value
        if kind in ("email", "url", "phone", "date"):
            inside = PromptText(raw).candidates(kind)
            if not inside:
                return None
            raw = inside[0]
        elif kind == "company" and "," in raw:
            raw = raw.split(",", 1)[0]
        elif kind in ("first_name", "last_name"):
            parts = raw.split()
            raw = (parts[0] if kind == "first_name" else parts[-1]) if parts else raw
        return self._finish(raw, kind, schema)

    def _string_of_kind(self, kind: str, schema: JsonSchema, ctx: _Context) -> str | None:
        if kind in ("email", "url", "phone", "date", "person", "company", "title", "location", "address"):
            taken = ctx.take(kind, lambda c: self._string_ok(self._finish(c, kind, schema) or "", schema))
            return None if taken is None else self._finish(taken, kind, schema)
        if kind == "party":
            return self._string_of_kind("company", schema, ctx) or self._string_of_kind("person", schema, ctx)
        if kind in ("first_name", "last_name"):
            person = ctx.label_for(("name",))
            full = person.value if person is not None else next(iter(ctx.candidates("person")), None)
            if not full:
                return None
            parts = full.split()
            return parts[0] if kind == "first_name" else parts[-1]
        if kind in ("city", "country"):
            for place in ctx.candidates("location"):
                if "," in place:
                    city, country = (part.strip() for part in place.split(",", 1))
                    return city if kind == "city" else country
            return None
        if kind == "skills":
            skills = skills_in_prose(ctx.text.text)
            return ", ".join(skills) if skills else None
        if kind == "query":
            # A tool's search query is what the user asked, in their words.
            asked = " ".join(ctx.text.text.split())
            return _fit_string(asked, schema, "") if asked else None
        if kind == "prose" and len(ctx.text.lines) == 1:
            # One row of a list ("Torque wrench, qty 2, unit price 400.00"): its words, not its figures.
            segments = [p.strip() for p in re.split(r"\s*[,;|]\s*|\s+[-–—]\s+", ctx.text.lines[0])]
            wordy = next((p for p in segments if p and not re.search(r"\d", p)), None)
            if wordy is not None:
                return _fit_string(wordy, schema, "")
        if kind == "prose":
            sentence = re.split(r"(?<=[.!?])\s+", " ".join(ctx.text.text.split()), maxsplit=1)[0]
            return _fit_string(sentence, schema, "") if sentence else None
        return None

    def _finish(self, raw: str, kind: str, schema: JsonSchema) -> str | None:
        fmt = schema.get("format")
        value = raw.strip().strip(",;")
        if kind == "date" or fmt in ("date", "date-time"):
            dates = PromptText(value).candidates("date")
            if not dates:
                return None
            value = _format_date(dates[0], fmt)
        if kind == "url" or fmt in ("uri", "url"):
            value = value if re.match(r"https?://", value) else f"https://{value}"
        return _fit_string(value, schema, "")

    def _pattern_in_text(self, pattern: str, ctx: _Context) -> str | None:
        bare = pattern.removeprefix("^").removesuffix("$")
        try:
            for match in re.finditer(bare, ctx.text.text):
                if match[0] and re.search(pattern, match[0]):
                    return match[0]
        except re.error:
            return None
        return None

    def _string_ok(self, value: str, schema: JsonSchema) -> bool:
        """Tell whether `value` meets the string rules (length, pattern, format) of `schema`."""
        rules = {key: schema[key] for key in ("minLength", "maxLength", "pattern", "format") if key in schema}
        try:
            return not validate(value, {"type": "string", **rules})
        except SchemaError:
            return False

    def _plain_string(self, schema: JsonSchema, kind: str, path: tuple[str, ...], fmt: Any) -> str:
        """Return a valid string for a field the text says nothing about (empty, or what its format needs)."""
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and (sample := _sample_for_pattern(pattern)) is not None:
            return sample
        if fmt == "date-time":
            return "1970-01-01T00:00:00Z"
        if fmt == "date":
            return "1970-01-01"
        if fmt == "time":
            return "00:00:00Z"
        if fmt == "uuid":
            return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(path) + "\n" + self.context.text.text))
        if fmt in ("uri", "url"):
            return "https://example.invalid/"
        if fmt == "email":
            return "unknown@example.invalid"
        if fmt == "hostname":
            return "example.invalid"
        if fmt == "ipv4":
            return "192.0.2.1"  # the documentation range: never a real host
        if fmt == "ipv6":
            return "2001:db8::1"
        if fmt == "duration":
            return "P0D"
        # Nothing to say but a minimum length to reach: the request's own words, never a placeholder.
        return _fit_string("", schema, " ".join(self.context.text.text.split()) or "n/a")


def _option_positions(option: Any, lowered_text: str) -> list[int]:
    """Where an enum option is mentioned in the text (its words, or a currency's sign and name)."""
    spelled = str(option).lower()
    words = [w for w in re.split(r"[\s_-]+", spelled) if w]
    if not words:
        return []
    pattern = r"[\s_-]+".join(re.escape(w) for w in words)
    positions = [m.start() for m in re.finditer(rf"(?<![a-z0-9]){pattern}(?![a-z0-9])", lowered_text)]
    for sign in _CURRENCY_SIGNS.get(spelled, ()):
        if sign.isalpha():
            positions.extend(m.start() for m in re.finditer(rf"\b{re.escape(sign)}\b", lowered_text))
        else:
            positions.extend(m.start() for m in re.finditer(re.escape(sign), lowered_text))
    return sorted(positions)


def fill_from_text(schema: JsonSchema, text: str) -> Any:
    """Answer `schema` from `text` (see the module docstring); the caller validates the result."""
    return SchemaFiller(text, schema).fill()
