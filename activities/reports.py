"""Report activity: the candidate report as JSON and as a readable HTML page in Blob storage.

Both blobs have fixed names per job and instance and are rendered deterministically from the input, so a
repeated execution rewrites identical content instead of adding a second report.

An interview that ended early (outcome ``interview_incomplete``) says so in both: the JSON carries
``interview_incomplete_reason``, the page an "Interview: ended early — <reason>" row beside the outcome.
"""

from __future__ import annotations

import html
import json
from typing import Any

import azure.durable_functions as df

from activities._common import run_activity
from activities.contracts import WRITE_CANDIDATE_REPORT
from shared.logging import register_personal_names
from shared.models import WriteCandidateReportInput, WriteCandidateReportOutput
from shared.settings import get_settings
from shared.storage import upload_bytes

__all__ = ["bp", "render_report_html", "report_blob_names", "write_candidate_report_service"]

bp = df.Blueprint()


def report_blob_names(job_id: str, instance_id: str) -> tuple[str, str]:
    """Names of the JSON report and the HTML page of one candidate."""
    return f"{job_id}/{instance_id}/report.json", f"{job_id}/{instance_id}/report.html"


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;line-height:1.45}"
    "th{text-align:left;padding-right:1rem;vertical-align:top}blockquote{color:#444;margin:.3rem 1rem}"
)


def _row(label: str, value: object) -> str:
    shown = "—" if value is None or value == "" else str(value)
    return f"<tr><th>{html.escape(label)}</th><td>{html.escape(shown)}</td></tr>"


def _items(values: list[str]) -> str:
    if not values:
        return "<p>—</p>"
    return "<ul>" + "".join(f"<li>{html.escape(value)}</li>" for value in values) + "</ul>"


def _rows_if(shown: bool, label: str, value: object) -> list[str]:
    return [_row(label, value)] if shown else []


def render_report_html(report: WriteCandidateReportInput) -> str:
    """Render a self-contained HTML page; every value is escaped (resumes and transcripts are untrusted)."""
    name = report.contact.name or (report.profile.full_name if report.profile else None) or "Candidate"
    # A cut-short interview is said so beside the outcome and beside the score it produced.
    ended_early = report.interview_incomplete_reason is not None
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(name)} · {html.escape(report.job_id)}</title>",
        f"<style>{_STYLE}</style>",
        "</head><body>",
        f"<h1>{html.escape(name)}</h1>",
        "<table>",
        _row("Job", report.job_id),
        _row("Outcome", report.outcome.value.replace("_", " ")),
        *_rows_if(ended_early, "Interview", f"ended early — {report.interview_incomplete_reason}"),
        _row("Candidate id", report.instance_id),
        _row("Completed", report.completed_at.isoformat() if report.completed_at else None),
        "</table>",
    ]
    if report.failure is not None:
        failure = report.failure
        parts.append(
            f"<h2>Failure</h2><p>{html.escape(failure.code.value)}: {html.escape(failure.message)}</p>"
        )
    if report.profile is not None:
        profile = report.profile
        parts += [
            "<h2>Profile</h2><table>",
            _row("Headline", profile.headline),
            _row("Location", profile.location),
            _row("Experience (years)", f"{profile.total_years_experience:g}"),
            _row("Skills", ", ".join(profile.skills)),
            "</table>",
        ]
    if report.screening is not None:
        screening = report.screening
        parts += [
            "<h2>Screening</h2><table>",
            _row("Decision", screening.decision.value.replace("_", " ")),
            _row("Score", f"{screening.score:.2f}"),
            _row("Must-have matched", ", ".join(screening.matched_must_have)),
            _row("Must-have missing", ", ".join(screening.missing_must_have)),
            _row("Nice-to-have matched", ", ".join(screening.matched_nice_to_have)),
            _row("Years (required / found)", f"{screening.years_required:g} / {screening.years_found:g}"),
            "</table>",
            f"<p>{html.escape(screening.rationale)}</p>",
        ]
    if report.recruiter_decision is not None:
        decision = report.recruiter_decision
        parts.append(
            f"<h2>Recruiter decision</h2><p>{html.escape(decision.decision)}"
            f"{': ' + html.escape(decision.note) if decision.note else ''}</p>"
        )
    if report.slot is not None:
        parts.append(
            f"<h2>Interview</h2><p>{html.escape(report.slot.start.isoformat())} with "
            f"{html.escape(report.slot.interviewer)}</p>"
        )
    if report.interview_score is not None:
        score = report.interview_score
        parts += [
            "<h2>Interview score</h2><table>",
            _row("Overall (1–5)", f"{score.overall:.2f}"),
            _row("Recommendation", score.recommendation.value.replace("_", " ")),
            *_rows_if(ended_early, "Scored from", "the answers given before the call ended early"),
            "</table>",
            f"<p>{html.escape(score.narrative)}</p>",
        ]
        for dimension in score.dimensions:
            parts.append(f"<h3>{html.escape(dimension.name)}: {dimension.score}/5</h3>")
            parts.append(f"<p>{html.escape(dimension.comment)}</p>")
            parts += [f"<blockquote>“{html.escape(quote)}”</blockquote>" for quote in dimension.evidence]
        parts += ["<h3>Recommendations</h3>", _items(score.recommendations)]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_candidate_report_service(request: WriteCandidateReportInput) -> WriteCandidateReportOutput:
    """Write the JSON report and its HTML page under fixed names."""
    register_personal_names(request.contact.name, request.profile.full_name if request.profile else None)
    settings = get_settings()
    container = settings.reports_container
    json_name, page_name = report_blob_names(request.job_id, request.instance_id)
    document = json.dumps(
        request.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False
    ).encode()
    json_ref = upload_bytes(container, json_name, document, content_type="application/json")
    page = render_report_html(request).encode("utf-8")
    page_ref = upload_bytes(container, page_name, page, content_type="text/html; charset=utf-8")
    return WriteCandidateReportOutput(report_json=json_ref, report_page=page_ref)


@bp.function_name(WRITE_CANDIDATE_REPORT.name)
@bp.activity_trigger(input_name="payload")
def write_candidate_report(payload: Any) -> dict[str, Any]:
    """Write the candidate report; ``WriteCandidateReportInput`` → ``WriteCandidateReportOutput``."""
    return run_activity(
        WRITE_CANDIDATE_REPORT.name,
        payload,
        WRITE_CANDIDATE_REPORT.input_model,
        WRITE_CANDIDATE_REPORT.output_model,
        write_candidate_report_service,
    )
