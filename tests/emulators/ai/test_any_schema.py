"""Any schema, not only hiring's: a developer's own pydantic models parsed from plain text by the emulator.

The models here are unknown to the brain (it has no task for their names); every value asserted is written
somewhere in the prompt, so an answer made of placeholders or defaults fails.
"""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from typing import Any

import openai
import pytest
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel, Field

from emulators.brain import structured_answer, tool_arguments
from emulators.brain.schema import validate
from emulators.server import EmulatorThread
from tests.emulators.ai.helpers import openai_client

CHAT = "gpt-4o-mini"


class ContactCard(BaseModel):
    full_name: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    website: str | None
    job_title: str
    company: str
    city: str | None
    country: str | None
    skills: list[str] = Field(max_length=5)
    years_of_experience: int = Field(ge=0, le=60)
    linkedin: str | None


CONTACT_TEXT = """Hi, I'm Priya Raman, a Senior Data Engineer at Contoso Analytics, based in Pune, India.
You can reach me at priya.raman@contoso.example or +91 98765 43210. My site: https://priya.dev
I have 9 years of experience with Python, Spark and Kubernetes."""


class Currency(StrEnum):
    USD = "USD"
    EUR = "EUR"
    GBP = "GBP"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    PAID = "paid"
    OVERDUE = "overdue"


class Party(BaseModel):
    name: str
    address: str | None
    email: str | None
    vat_id: str | None


class InvoiceHeader(BaseModel):
    invoice_number: str = Field(pattern=r"^INV-\d{4}$")
    issue_date: date
    due_date: date
    vendor: Party
    customer: Party
    currency: Currency
    status: InvoiceStatus
    subtotal: float = Field(ge=0)
    tax_rate_percent: int = Field(ge=0, le=30, multiple_of=5)
    total: float = Field(gt=0)
    payment_terms_days: int | None = Field(ge=0, le=120)
    purchase_order: str | None


INVOICE_TEXT = """INVOICE INV-2041
Invoice date: 3 March 2025
Due: March 31, 2025

From:
Fabrikam Tools Ltd
12 Harbour Street, Bristol
billing@fabrikam.example
VAT ID: GB123456789

Bill to:
Northwind Traders GmbH
Hauptstrasse 5, Berlin

Subtotal: €1,200.00
VAT (20%): €240.00
Total due: €1,440.00
Payment terms: 28 days. This invoice is overdue.
"""

EXPECTED_INVOICE = InvoiceHeader(
    invoice_number="INV-2041",
    issue_date=date(2025, 3, 3),
    due_date=date(2025, 3, 31),
    vendor=Party(
        name="Fabrikam Tools Ltd",
        address="12 Harbour Street, Bristol",
        email="billing@fabrikam.example",
        vat_id="GB123456789",
    ),
    customer=Party(name="Northwind Traders GmbH", address="Hauptstrasse 5, Berlin", email=None, vat_id=None),
    currency=Currency.EUR,
    status=InvoiceStatus.OVERDUE,
    subtotal=1200.0,
    tax_rate_percent=20,
    total=1440.0,
    payment_terms_days=28,
    purchase_order=None,
)


class MeetingMode(StrEnum):
    IN_PERSON = "in_person"
    VIDEO = "video"
    PHONE = "phone"


class ScheduleMeeting(BaseModel):
    """Book a meeting with one attendee."""

    attendee_name: str
    attendee_email: str
    day: date
    duration_minutes: int = Field(ge=15, le=240, multiple_of=15)
    mode: MeetingMode
    topic: str | None


MEETING_TEXT = (
    "Can you set up a video call with Tomás Silva (tomas.silva@fabrikam.example) on 14 April 2025 "
    "for 45 minutes?"
)


def test_contact_card_parses_from_plain_text_through_the_real_client(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)

    completion = client.beta.chat.completions.parse(
        model=CHAT,
        messages=[
            {"role": "system", "content": "Extract the contact card from the message."},
            {"role": "user", "content": CONTACT_TEXT},
        ],
        response_format=ContactCard,
    )

    card = completion.choices[0].message.parsed
    assert card == ContactCard(
        full_name="Priya Raman",
        first_name="Priya",
        last_name="Raman",
        email="priya.raman@contoso.example",
        phone="+91 98765 43210",
        website="https://priya.dev",
        job_title="Senior Data Engineer",
        company="Contoso Analytics",
        city="Pune",
        country="India",
        skills=["Python", "Spark", "Kubernetes"],
        years_of_experience=9,
        linkedin=None,  # the text has no LinkedIn profile: null, as the Optional allows, not a made-up URL
    )


def test_nested_invoice_with_enums_and_bounds_through_strict_json_schema(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)

    completion = client.chat.completions.create(
        model=CHAT,
        messages=[{"role": "user", "content": INVOICE_TEXT}],
        response_format={
            "type": "json_schema",
            "json_schema": {
                "name": "InvoiceHeader",
                "strict": True,
                "schema": to_strict_json_schema(InvoiceHeader),
            },
        },
    )

    content = completion.choices[0].message.content
    assert content is not None
    assert InvoiceHeader.model_validate_json(content) == EXPECTED_INVOICE


def test_untaught_tool_gets_arguments_from_the_request(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)

    completion = client.chat.completions.create(
        model=CHAT,
        messages=[{"role": "user", "content": MEETING_TEXT}],
        tools=[openai.pydantic_function_tool(ScheduleMeeting)],
        tool_choice="required",
    )

    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert [call.function.name for call in calls] == ["ScheduleMeeting"]
    assert ScheduleMeeting.model_validate_json(calls[0].function.arguments) == ScheduleMeeting(
        attendee_name="Tomás Silva",
        attendee_email="tomas.silva@fabrikam.example",
        day=date(2025, 4, 14),
        duration_minutes=45,
        mode=MeetingMode.VIDEO,
        topic=None,
    )


def test_the_same_request_gets_the_same_answer() -> None:
    schema = to_strict_json_schema(InvoiceHeader)

    first = structured_answer("InvoiceHeader", schema, INVOICE_TEXT)

    assert structured_answer("InvoiceHeader", schema, INVOICE_TEXT) == first
    assert json.dumps(first) == json.dumps(structured_answer("InvoiceHeader", schema, INVOICE_TEXT))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Please pay in pounds sterling (£).", "GBP"),
        ("Amount: $1,250.00", "USD"),
        ("Amount: 1.250,00 EUR", "EUR"),
        ("Nothing about money here.", "USD"),  # no option mentioned: the first one, the schema's default
    ],
)
def test_enum_is_chosen_by_the_words_of_the_text(text: str, expected: str) -> None:
    schema = {
        "type": "object",
        "properties": {"currency": {"type": "string", "enum": ["USD", "EUR", "GBP"]}},
        "required": ["currency"],
        "additionalProperties": False,
    }

    assert structured_answer("Money", schema, text) == {"currency": expected}


def test_enum_prefers_the_option_on_the_fields_own_line() -> None:
    schema = {
        "type": "object",
        "properties": {"seniority": {"enum": ["junior", "mid_level", "senior"]}},
        "required": ["seniority"],
    }
    text = "Our senior staff will mentor you.\nSeniority: mid-level"

    assert structured_answer("Role", schema, text) == {"seniority": "mid_level"}


def _numbers_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "rating": {"type": "integer", "minimum": 1, "maximum": 5},
            "discount": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 50},
            "seats": {"type": "integer", "multipleOf": 4},
            "weight": {"type": "number", "minimum": 0, "multipleOf": 0.5},
            "floors": {"type": "integer"},
        },
        "required": ["rating", "discount", "seats", "weight", "floors"],
        "additionalProperties": False,
    }


def test_numbers_come_from_the_text_and_respect_their_bounds() -> None:
    text = "Rating: 9 out of 10\nDiscount: 0%\nSeats: 10\nWeight: 2.3 kg\nThe building has 12 floors."

    answer = structured_answer("Numbers", _numbers_schema(), text)

    assert answer == {
        "rating": 5,  # 9 is above the maximum of 5
        "discount": 1.0,  # 0 is not above the exclusive minimum: the next value that is
        "seats": 12,  # 10 is halfway between the multiples of 4: rounded half up
        "weight": 2.5,  # the nearest multiple of 0.5
        "floors": 12,  # found before its word ("12 floors"), not only after a label
    }
    assert validate(answer, _numbers_schema()) == []


def test_strings_respect_length_pattern_and_format() -> None:
    schema = {
        "type": "object",
        "properties": {
            "order_code": {"type": "string", "pattern": "^ORD-[0-9]{3}-[A-Z]{2}$"},
            "ticket": {"type": "string", "pattern": "^T[0-9]{5}$"},
            "headline": {"type": "string", "maxLength": 12},
            "contact_email": {"type": "string", "format": "email"},
            "shipped_at": {"type": "string", "format": "date-time"},
            "tracking_id": {"type": "string", "format": "uuid"},
        },
        "required": ["order_code", "ticket", "headline", "contact_email", "shipped_at", "tracking_id"],
        "additionalProperties": False,
    }
    text = (
        "Order ORD-042-PT for ana@example.org shipped on 2025-05-06 14:30.\n"
        "Headline: Parcel left the warehouse"
    )

    answer = structured_answer("Shipment", schema, text)

    assert answer["order_code"] == "ORD-042-PT"  # found in the text by the field's own pattern
    assert answer["ticket"] == "T00000"  # not in the text: the plainest string the pattern accepts
    assert answer["headline"] == "Parcel left"  # cut at a word within maxLength
    assert answer["contact_email"] == "ana@example.org"
    assert answer["shipped_at"] == "2025-05-06T14:30:00Z"
    assert validate(answer, schema) == []


def test_arrays_respect_min_and_max_items() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
            "emails": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "phones": {"type": "array", "items": {"type": "string"}, "minItems": 0, "maxItems": 3},
        },
        "required": ["tags", "emails", "phones"],
        "additionalProperties": False,
    }
    text = "Tags: urgent, billing, refund\nWrite to a@example.com or b@example.com."

    answer = structured_answer("Ticket", schema, text)

    assert answer == {
        "tags": ["urgent", "billing"],
        "emails": ["a@example.com", "b@example.com"],
        "phones": [],
    }


def test_optional_fields_are_null_when_the_text_does_not_hold_them() -> None:
    class Applicant(BaseModel):
        name: str
        email: str | None
        phone: str | None
        start_date: date | None

    answer = structured_answer("Applicant", to_strict_json_schema(Applicant), "Applicant: Bo Chen")

    assert answer == {"name": "Bo Chen", "email": None, "phone": None, "start_date": None}


def test_refs_defs_and_recursive_models_stay_valid() -> None:
    class Employee(BaseModel):
        name: str
        title: str | None
        reports: list[Employee]

    schema = to_strict_json_schema(Employee)
    text = "Org chart\nName: Maria Garcia\nTitle: Engineering Manager"

    answer = structured_answer("Employee", schema, text)

    assert answer["name"] == "Maria Garcia"
    assert answer["title"] == "Engineering Manager"
    assert validate(answer, schema) == []
    Employee.model_validate(answer)


def test_tool_arguments_for_an_untaught_tool_validate() -> None:
    parameters = openai.pydantic_function_tool(ScheduleMeeting)["function"]["parameters"]

    arguments = tool_arguments("ScheduleMeeting", parameters, MEETING_TEXT)

    assert arguments["attendee_email"] == "tomas.silva@fabrikam.example"
    assert validate(arguments, parameters) == []


def test_list_rows_become_nested_objects() -> None:
    class LineItem(BaseModel):
        description: str
        quantity: int = Field(ge=1)
        unit_price: float = Field(ge=0)

    class Order(BaseModel):
        customer_name: str
        line_items: list[LineItem] = Field(min_length=1, max_length=5)

    text = (
        "Order from Ana Lima\n"
        "Items:\n"
        "- Torque wrench, qty 2, unit price 400.00\n"
        "- Socket set, qty 1, unit price 120.50\n"
    )

    order = Order.model_validate(structured_answer("Order", to_strict_json_schema(Order), text))

    assert order == Order(
        customer_name="Ana Lima",
        line_items=[
            LineItem(description="Torque wrench", quantity=2, unit_price=400.0),
            LineItem(description="Socket set", quantity=1, unit_price=120.5),
        ],
    )


@pytest.mark.parametrize(
    "schema",
    [
        {"type": ["string", "null"], "minLength": 3},
        {"type": "object", "properties": {"v": {"anyOf": [{"type": "integer"}, {"type": "string"}]}}},
        {"oneOf": [{"type": "number", "minimum": 2.5}, {"type": "null"}]},
        {"type": "object", "properties": {"k": {"const": 7}}, "required": ["k"]},
        {"type": "object", "additionalProperties": {"type": "integer"}},
        {},
        {"type": "object", "properties": {"level": {"enum": [1, 2, 3]}}, "required": ["level"]},
        {"type": "integer", "exclusiveMinimum": 3, "exclusiveMaximum": 5},
        {"type": "number", "minimum": 0.1, "maximum": 0.2, "multipleOf": 0.05},
        {"type": "array", "items": {"type": "string", "format": "email"}, "minItems": 2, "maxItems": 2},
        {"type": "string", "pattern": "^[a-f0-9]{8}$"},
        {"type": "string", "minLength": 40, "maxLength": 41},
        {"type": "string", "pattern": "^[^@]+@x\\.com$"},
        {"type": "string", "format": "ipv4"},
        {
            "type": "object",
            "properties": {"notes": {"anyOf": [{"pattern": "^(foo|bar)$"}, {"type": "null"}]}},
        },
        {
            "type": "object",
            "properties": {"emails": {"type": "array", "items": {"type": "null"}, "minItems": 1}},
        },
        {"type": "object", "properties": {"dates": {"type": "array", "items": {"type": "boolean"}}}},
        {"type": "integer", "minimum": 5, "multipleOf": 3, "maximum": 7},
    ],
)
def test_every_answer_validates_whatever_the_schema(schema: dict[str, Any]) -> None:
    answer = structured_answer("Anything", schema, "Level 2 reached by ann@example.com on 2025-01-02.")

    assert validate(answer, schema) == []
