"""Pydantic models shaped like the hiring contract, as the pipeline would pass them to `parse(...)`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ExperienceEntry(BaseModel):
    title: str
    company: str
    start_date: str
    end_date: str | None
    years: float
    highlights: list[str]


class EducationEntry(BaseModel):
    institution: str
    degree: str
    field: str | None
    graduation_year: int | None


class CandidateProfile(BaseModel):
    full_name: str
    email: str | None
    phone: str | None
    location: str | None
    headline: str
    skills: list[str]
    total_years_experience: float
    experience: list[ExperienceEntry]
    education: list[EducationEntry]


class ScreeningResult(BaseModel):
    decision: Literal["advance", "reject", "needs_review"]
    score: float
    matched_must_have: list[str]
    missing_must_have: list[str]
    matched_nice_to_have: list[str]
    years_required: float
    years_found: float
    rationale: str


class DimensionScore(BaseModel):
    name: str
    score: int
    evidence: list[str]
    comment: str


class InterviewScore(BaseModel):
    overall: float
    dimensions: list[DimensionScore]
    narrative: str
    recommendation: Literal["strong_hire", "hire", "no_hire", "strong_no_hire"]
    recommendations: list[str]


class Address(BaseModel):
    street: str
    postcode: str | None


class Node(BaseModel):
    """A recursive model with a nested enum and a list of itself, to exercise the generic filler."""

    label: str
    kind: Literal["leaf", "branch"]
    weight: float
    address: Address | None
    children: list[Node]
