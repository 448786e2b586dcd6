"""Screening by weighted skill overlap and years, per the hiring contract's brain rule."""

from __future__ import annotations

from typing import Any

from emulators.brain.vocabulary import mentions_skill


def _weighted(items: Any) -> list[tuple[str, float]]:
    weighted: list[tuple[str, float]] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("skill"), str):
            weight = item.get("weight", 1.0)
            weighted.append((item["skill"], float(weight) if isinstance(weight, int | float) else 1.0))
        elif isinstance(item, str):
            weighted.append((item, 1.0))
    return weighted


def _profile_text(profile: dict[str, Any]) -> str:
    parts: list[str] = [str(s) for s in profile.get("skills") or []]
    parts.append(str(profile.get("headline") or ""))
    for entry in profile.get("experience") or []:
        if isinstance(entry, dict):
            parts.append(str(entry.get("title") or ""))
            parts.extend(str(h) for h in entry.get("highlights") or [])
    return "\n".join(parts)


def screen(job: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    """Score a profile against a job: must-haves count double, missing years lower the score."""
    text = _profile_text(profile)
    must = _weighted(job.get("must_have"))
    nice = _weighted(job.get("nice_to_have"))
    matched_must = [skill for skill, _ in must if mentions_skill(text, skill)]
    missing_must = [skill for skill, _ in must if skill not in matched_must]
    matched_nice = [skill for skill, _ in nice if mentions_skill(text, skill)]
    possible = 2 * sum(w for _, w in must) + sum(w for _, w in nice)
    earned = 2 * sum(w for s, w in must if s in matched_must) + sum(w for s, w in nice if s in matched_nice)
    skill_match = earned / possible if possible > 0 else 1.0
    years_required = float(job.get("min_years") or 0.0)
    years_raw = profile.get("total_years_experience")
    years_found = float(years_raw) if isinstance(years_raw, int | float) else 0.0
    experience_ratio = min(1.0, years_found / years_required) if years_required > 0 else 1.0
    # Half of the score rides on experience: meeting every skill with half the years lands at 0.75.
    score = round(skill_match * (0.5 + 0.5 * experience_ratio), 3)
    if score >= 0.7 and not missing_must:
        decision = "advance"
    elif score < 0.4:
        decision = "reject"
    else:
        decision = "needs_review"
    rationale = (
        f"Matched {len(matched_must)} of {len(must)} must-have skills"
        + (f" (missing: {', '.join(missing_must)})" if missing_must else "")
        + f" and {len(matched_nice)} of {len(nice)} nice-to-have skills; "
        + f"{years_found:g} years of experience against {years_required:g} required. "
        + f"Weighted score {score:.2f} -> {decision}. (Deterministic emulator rule, not a model judgement.)"
    )
    return {
        "decision": decision,
        "score": score,
        "matched_must_have": matched_must,
        "missing_must_have": missing_must,
        "matched_nice_to_have": matched_nice,
        "years_required": years_required,
        "years_found": years_found,
        "rationale": rationale,
    }
