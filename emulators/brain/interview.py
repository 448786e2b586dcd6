"""Interview scoring from evidence in the transcript, quoting the candidate verbatim."""

from __future__ import annotations

import re
from typing import Any

_LINE = re.compile(
    r"^\s*(?:\[\d{1,2}:\d{2}(?::\d{2})?\]\s*)?(?P<speaker>[A-Za-z][\w .-]*?)\s*:\s*(?P<text>.+)$"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

DEFAULT_DIMENSIONS: tuple[dict[str, Any], ...] = (
    {
        "name": "technical_depth",
        "description": "Technical knowledge",
        "keywords": ["design", "built", "system"],
    },
    {"name": "communication", "description": "Clarity", "keywords": ["team", "explained", "stakeholder"]},
    {
        "name": "ownership",
        "description": "Ownership",
        "keywords": ["led", "owned", "responsible", "delivered"],
    },
)


def candidate_sentences(transcript: str) -> list[str]:
    """Return the candidate's sentences verbatim, in order (unlabelled lines continue)."""
    sentences: list[str] = []
    speaker = ""
    for raw in transcript.splitlines():
        match = _LINE.match(raw)
        if match:
            speaker = match["speaker"].strip().lower()
            text = match["text"].strip()
        else:
            text = raw.strip()
        if speaker == "candidate" and text:
            sentences.extend(s.strip() for s in _SENTENCE_END.split(text) if s.strip())
    return sentences


def _dimension_score(evidence: list[str]) -> int:
    if not evidence:
        return 1
    words = sum(len(quote.split()) for quote in evidence)
    return min(5, 1 + len(evidence) + (1 if words >= 40 else 0))


def score_interview(transcript: str, rubric: Any) -> dict[str, Any]:
    """Score every rubric dimension by the candidate sentences that mention its keywords."""
    dimensions_in = rubric.get("dimensions") if isinstance(rubric, dict) else None
    dimensions = [d for d in dimensions_in or DEFAULT_DIMENSIONS if isinstance(d, dict) and d.get("name")]
    sentences = candidate_sentences(transcript)
    scored: list[dict[str, Any]] = []
    for dimension in dimensions:
        keywords = [str(k) for k in dimension.get("keywords") or [] if str(k).strip()]
        patterns = [re.compile(rf"\b{re.escape(k)}", re.IGNORECASE) for k in keywords]
        evidence = [s for s in sentences if any(p.search(s) for p in patterns)][:5]
        score = _dimension_score(evidence)
        comment = (
            f"{len(evidence)} candidate statement(s) mention {', '.join(keywords) or 'this dimension'}."
            if evidence
            else f"No candidate statement mentions {', '.join(keywords) or 'this dimension'}."
        )
        scored.append(
            {"name": str(dimension["name"]), "score": score, "evidence": evidence, "comment": comment}
        )
    overall = round(sum(d["score"] for d in scored) / len(scored), 2) if scored else 1.0
    if overall >= 4.25:
        recommendation = "strong_hire"
    elif overall >= 3.25:
        recommendation = "hire"
    elif overall >= 2.0:
        recommendation = "no_hire"
    else:
        recommendation = "strong_no_hire"
    weakest = [d["name"] for d in scored if d["score"] <= 2]
    narrative = (
        f"Across {len(sentences)} candidate sentences the interview scored {overall:.2f} of 5 over "
        f"{len(scored)} dimensions. (Deterministic emulator scoring by keyword evidence.)"
    )
    return {
        "overall": overall,
        "dimensions": scored,
        "narrative": narrative,
        "recommendation": recommendation,
        "recommendations": [f"Probe {name} further in a follow-up conversation." for name in weakest]
        or ["Proceed to the next stage."],
    }
