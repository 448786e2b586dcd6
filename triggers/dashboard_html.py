"""The dashboard's pages as HTML, escaped by construction.

Every value goes through :func:`render`, which escapes whatever is not already :class:`Html`, so a page
cannot forget to escape a candidate's name; text a person typed is also isolated with ``<bdi>`` so a
right-to-left override in a note cannot reorder the page around it. Pages carry no inline script or style
(the Content-Security-Policy forbids both): behaviour lives in ``dashboard/app.js``, looks in
``dashboard/app.css``. Regions with ``data-live`` are refreshed in place by the script while people watch.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from shared.models import CandidateOutcome, InterviewScore, Stage
from triggers.dashboard_data import (
    CandidateDetail,
    CandidateRow,
    ReviewItem,
    TimelineStep,
    time_left,
)

BASE = "/api/dashboard"


class Html(str):
    """Markup that is already safe to emit as it is."""

    __slots__ = ()


def escape(value: Any) -> Html:
    """Escape ``value`` for HTML text and attribute values (quotes included), unless it is :class:`Html`."""
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def render(template: str, **values: Any) -> Html:
    """Fill ``template`` (``str.format`` fields) with escaped values."""
    return Html(template.format(**{key: escape(value) for key, value in values.items()}))


def join(parts: Iterable[Html]) -> Html:
    """Concatenate already safe fragments."""
    return Html("".join(escape(part) for part in parts))


def text(value: Any) -> Html:
    """Text a person wrote (names, notes, quotes): escaped and isolated from the surrounding direction."""
    return render("<bdi>{value}</bdi>", value=value)


def url(*segments: str, **query: str | None) -> str:
    """Return a dashboard URL with each segment percent-encoded."""
    path = "/".join(quote(segment, safe="") for segment in segments)
    kept = {key: value for key, value in query.items() if value}
    base = f"{BASE}/{path}" if path else BASE
    return base + (f"?{urlencode(kept)}" if kept else "")


def _when(value: str | datetime | None) -> Html:
    if value is None or value == "":
        return Html("&ndash;")
    moment = value if isinstance(value, datetime) else _parse(value)
    if moment is None:
        return escape(value)
    label = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return render('<time datetime="{iso}">{label}</time>', iso=moment.isoformat(), label=label)


def _parse(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _score(value: Any, digits: int = 2) -> str:
    return "–" if value is None else f"{float(value):.{digits}f}"


def _label(value: str | None) -> str:
    return (value or "").replace("_", " ")


def stage_badge(stage: str | None, runtime_status: str | None = None) -> Html:
    """Show the stage as words with a marker; colour only repeats what the words say."""
    state = (
        "failed" if stage == Stage.FAILED.value else "done" if runtime_status in ("Completed",) else "live"
    )
    if runtime_status == "Terminated":
        state = "failed"
    return render('<span class="badge badge-{state}">{label}</span>', state=state, label=_label(stage))


def progress(value: float, label: str) -> Html:
    """Show a native progress bar with its percentage as text beside it (readable without the bar)."""
    percent = round(max(0.0, min(1.0, float(value))) * 100)
    return render(
        '<progress max="100" value="{percent}" aria-label="{label}">{percent}%</progress>'
        ' <span class="percent">{percent}%</span>',
        percent=percent,
        label=label,
    )


# ----------------------------------------------------------------------------------------------------
# Layout


@dataclass(frozen=True)
class PageContext:
    """What every page needs: who is signed in, the CSRF token for forms, the clock when shown."""

    user: str
    csrf_token: str
    clock: dict[str, Any] | None
    """``/admin/clock`` of the local host (mode, now, next due timer); None on Azure or when unavailable."""
    notice: str | None = None
    notice_kind: str = "ok"
    path: str = BASE
    """The page's own path, where an action form sends the browser back to."""


def csrf_field(context: PageContext, back: str | None = None) -> Html:
    """Render the hidden fields every action form carries.

    The CSRF token, a fresh form id (a form is acted on once, however often it is sent) and the page to come
    back to.
    """
    return render(
        '<input type="hidden" name="csrf_token" value="{token}">'
        '<input type="hidden" name="form_id" value="{form_id}">'
        '<input type="hidden" name="back" value="{back}">',
        token=context.csrf_token,
        form_id=str(uuid.uuid4()),
        back=back or context.path,
    )


def _nav(active: str) -> Html:
    links = [("jobs", BASE, "Jobs"), ("reviews", url("reviews"), "Review queue")]
    links += [("upload", url("upload"), "Upload"), ("screenings", url("screenings"), "Batch screening")]
    items = [
        render(
            '<li><a href="{href}"{current}>{label}</a></li>',
            href=href,
            label=label,
            current=Html(' aria-current="page"' if key == active else ""),
        )
        for key, href, label in links
    ]
    return render('<nav aria-label="Dashboard"><ul>{items}</ul></nav>', items=join(items))


def clock_panel(context: PageContext) -> Html:
    """Local time control: the engine's clock and buttons to move it (never rendered on Azure)."""
    clock = context.clock
    if clock is None:
        return Html("")
    if clock.get("locked"):
        return Html(
            '<section class="clock" aria-labelledby="clock-title"><h2 id="clock-title">Local clock</h2>'
            "<p>This host keeps its clock behind its master key, and the app was not given it "
            "(<code>DEVHOST_ADMIN_KEY</code>). Move time with "
            "<code>python -m hireflow clock advance [--by 1d]</code> and <code>HIREFLOW_KEY</code> set to "
            "the master key of the host's keys file.</p></section>"
        )
    next_timer = clock.get("nextTimer")
    next_due = next_timer.get("fireAt") if isinstance(next_timer, dict) else None
    return render(
        '<section class="clock" aria-labelledby="clock-title" data-live id="clock">'
        '<h2 id="clock-title">Local clock</h2>'
        "<p>Mode <strong>{mode}</strong>, now {now}; {pending} timer(s) pending, next {next_due}.</p>"
        '<form method="post" action="{action}" class="inline" data-once>{csrf}'
        '<button type="submit" name="to" value="next">Advance to next timer</button> '
        '<button type="submit" name="by" value="1d">Advance 1 day</button></form>'
        "</section>",
        mode=clock.get("mode") or "?",
        now=_when(clock.get("now")),
        pending=clock.get("pendingTimers", "?"),
        next_due=_when(next_due) if next_due else "none due",
        action=url("actions", "clock"),
        csrf=csrf_field(context),
    )


def page(title: str, body: Html, context: PageContext, *, active: str = "") -> Html:
    """Render the whole document around ``body``."""
    notice = Html("")
    if context.notice:
        notice = render(
            '<div class="notice notice-{kind}" role="status">{icon} {message}</div>',
            kind=context.notice_kind,
            icon="✔" if context.notice_kind == "ok" else "⚠",
            message=context.notice,
        )
    return render(
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>{title} · hireflow</title>"
        '<link rel="stylesheet" href="{base}/assets/app.css">'
        '<script src="{base}/assets/app.js" defer></script></head>'
        '<body><a class="skip" href="#main">Skip to content</a>'
        '<header><p class="brand"><a href="{base}">hireflow</a></p>{nav}'
        '<p class="user">Signed in as {user}</p></header>'
        '<main id="main" tabindex="-1"><h1>{title}</h1>{notice}{clock}{body}</main>'
        "</body></html>",
        title=title,
        base=BASE,
        nav=_nav(active),
        user=text(context.user),
        notice=notice,
        clock=clock_panel(context),
        body=body,
    )


def message_page(title: str, message: str, *, status_word: str = "Refused") -> Html:
    """Render a bare page for refusals (no navigation, no forms: the visitor is not signed in)."""
    return render(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>'
        '<link rel="stylesheet" href="{base}/assets/app.css"></head>'
        '<body><main id="main"><h1>{title}</h1><p><strong>{word}:</strong> {message}</p></main>'
        "</body></html>",
        title=title,
        base=BASE,
        word=status_word,
        message=message,
    )


# ----------------------------------------------------------------------------------------------------
# Jobs


def jobs_body(jobs: list[tuple[str, str, dict[str, int]]], waiting_reviews: int) -> Html:
    """Render the jobs and, per job, how many candidates are running, waiting and done."""
    if not jobs:
        return Html("<p>No jobs yet: add a job definition to the jobs container.</p>")
    rows = [
        render(
            '<tr><th scope="row"><a href="{href}">{title}</a><br><code>{job_id}</code></th>'
            '<td data-label="Candidates">{total}</td><td data-label="Running">{running}</td>'
            '<td data-label="Awaiting review">{review}</td><td data-label="Finished">{done}</td></tr>',
            href=url("jobs", job_id),
            title=text(title),
            job_id=job_id,
            total=counts.get("total", 0),
            running=counts.get("running", 0),
            review=counts.get("awaiting_review", 0),
            done=counts.get("finished", 0),
        )
        for job_id, title, counts in jobs
    ]
    reviews = render(
        '<p><a href="{href}">{count} candidate(s) awaiting review</a></p>',
        href=url("reviews"),
        count=waiting_reviews,
    )
    return render(
        '<div data-live id="jobs">{reviews}<div class="table-wrap">'
        '<table class="cards-on-phone"><caption>Jobs</caption>'
        '<thead><tr><th scope="col">Job</th><th scope="col">Candidates</th><th scope="col">Running</th>'
        '<th scope="col">Awaiting review</th><th scope="col">Finished</th></tr></thead>'
        "<tbody>{rows}</tbody></table></div></div>",
        reviews=reviews,
        rows=join(rows),
    )


def _options(values: Iterable[str], selected: str | None, any_label: str) -> Html:
    options = [render('<option value="">{label}</option>', label=any_label)]
    for value in values:
        options.append(
            render(
                '<option value="{value}"{selected}>{label}</option>',
                value=value,
                label=_label(value),
                selected=Html(" selected" if value == selected else ""),
            )
        )
    return join(options)


def candidate_table(rows: list[CandidateRow]) -> Html:
    """Render a job's candidates: name, intake, stage and progress, scores, outcome, updated."""
    if not rows:
        return Html('<p id="no-candidates">No candidates match.</p>')
    lines = []
    for row in rows:
        view = row.view
        screening = view.get("screening") or {}
        interview = view.get("interview") or {}
        lines.append(
            render(
                '<tr data-candidate="{id}"><th scope="row"><a href="{href}">{name}</a></th>'
                '<td data-label="Intake">{intake}</td><td data-label="Stage">{badge}<br>{bar}</td>'
                '<td data-label="Screening">{screening}</td><td data-label="Interview">{interview}</td>'
                '<td data-label="Outcome">{outcome}</td><td data-label="Updated">{updated}</td></tr>',
                id=row.id,
                href=url("candidates", row.id),
                name=text(row.name),
                intake=row.intake,
                badge=stage_badge(view.get("stage"), view.get("runtime_status")),
                bar=progress(float(view.get("progress") or 0.0), f"progress of {row.name}"),
                screening=_score(screening.get("score")),
                interview=_score(interview.get("overall"), 1),
                outcome=_label(row.outcome) or "in progress",
                updated=_when(view.get("stage_updated_at") or view.get("updated_at")),
            )
        )
    return render(
        '<div class="table-wrap"><table class="cards-on-phone"><caption>Candidates</caption><thead><tr>'
        '<th scope="col">Name</th><th scope="col">Intake</th><th scope="col">Stage</th>'
        '<th scope="col">Screening</th><th scope="col">Interview</th><th scope="col">Outcome</th>'
        '<th scope="col">Updated</th></tr></thead><tbody>{lines}</tbody></table></div>',
        lines=join(lines),
    )


def job_body(job_id: str, rows: list[CandidateRow], stage: str | None, outcome: str | None) -> Html:
    """One job's candidates with the stage and outcome filters."""
    outcomes = ["running", *(value.value for value in CandidateOutcome), "cancelled"]
    return render(
        '<form method="get" action="{action}" class="filters" data-autosubmit>'
        '<label for="stage">Stage</label> <select id="stage" name="stage">{stages}</select> '
        '<label for="outcome">Outcome</label> <select id="outcome" name="outcome">{outcomes}</select> '
        '<button type="submit">Filter</button></form>'
        '<p><a href="{upload}">Upload a resume for this job</a> · <a href="{batch}">Batch screening</a></p>'
        '<div data-live id="candidates" aria-live="polite">{table}</div>',
        action=url("jobs", job_id),
        stages=_options((s.value for s in Stage), stage, "any stage"),
        outcomes=_options(outcomes, outcome, "any outcome"),
        upload=url("upload", job=job_id),
        batch=url("screenings", job=job_id),
        table=candidate_table(rows),
    )


# ----------------------------------------------------------------------------------------------------
# Review queue


def _skills(values: list[str]) -> Html:
    if not values:
        return Html("none")
    return Html(", ".join(text(value) for value in values))


def screening_breakdown(screening: Any) -> Html:
    """Skills matched and missing, years, and the rationale."""
    if screening is None:
        return Html("<p>No screening result yet.</p>")
    return render(
        '<dl class="breakdown"><dt>Decision</dt><dd>{decision} (score {score})</dd>'
        "<dt>Must-have matched</dt><dd>{matched}</dd><dt>Must-have missing</dt><dd>{missing}</dd>"
        "<dt>Nice-to-have matched</dt><dd>{nice}</dd>"
        "<dt>Years</dt><dd>{found} found, {required} required</dd>"
        "<dt>Rationale</dt><dd>{rationale}</dd></dl>",
        decision=_label(screening.decision.value),
        score=_score(screening.score),
        matched=_skills(screening.matched_must_have),
        missing=_skills(screening.missing_must_have),
        nice=_skills(screening.matched_nice_to_have),
        found=f"{screening.years_found:g}",
        required=f"{screening.years_required:g}",
        rationale=text(screening.rationale),
    )


def decision_form(candidate_id: str, context: PageContext) -> Html:
    """Advance / Reject with an optional note; the script sends it once and disables it on submit."""
    field_id = "note-" + quote(candidate_id, safe="").replace(".", "-").replace("%", "")
    return render(
        '<form method="post" action="{action}" class="decision" data-once>{csrf}'
        '<label for="{field}">Note (optional)</label>'
        '<textarea id="{field}" name="note" maxlength="2000" rows="2"></textarea>'
        '<div class="buttons"><button type="submit" name="decision" value="advance">Advance</button> '
        '<button type="submit" name="decision" value="reject" class="secondary">Reject</button></div>'
        "</form>",
        action=url("candidates", candidate_id, "decision"),
        csrf=csrf_field(context),
        field=field_id,
    )


def reviews_body(items: list[ReviewItem], now: datetime, context: PageContext) -> Html:
    """Every candidate awaiting a decision, oldest deadline first."""
    if not items:
        return Html('<div data-live id="reviews"><p>No candidate is waiting for a decision.</p></div>')
    cards = [
        render(
            '<article class="card" data-candidate="{id}" aria-labelledby="h-{anchor}">'
            '<h2 id="h-{anchor}"><a href="{href}">{name}</a></h2>'
            '<p class="deadline">Deadline {deadline}: <strong>{left}</strong></p>{breakdown}{form}</article>',
            id=item.row.id,
            anchor=item.row.id.replace(".", "-"),
            href=url("candidates", item.row.id),
            name=text(item.row.name),
            deadline=_when(item.deadline),
            left=time_left(item.deadline, now),
            breakdown=screening_breakdown(item.screening),
            form=decision_form(item.row.id, context),
        )
        for item in items
    ]
    return render('<div data-live id="reviews" class="cards">{cards}</div>', cards=join(cards))


# ----------------------------------------------------------------------------------------------------
# Candidate


_STATE_LABELS = {"unneeded": "not needed: the run went on without it"}


def _timeline(steps: list[TimelineStep], caption: str) -> Html:
    if not steps:
        return Html("")
    lines = []
    for step in steps:
        attempts = Html("")
        if len(step.attempts) > 1 or any(attempt.error for attempt in step.attempts):
            attempts = render(
                '<ol class="attempts">{items}</ol>',
                items=join(
                    render(
                        "<li>attempt {n}: {start} → {end}{error}</li>",
                        n=number,
                        start=_when(attempt.started),
                        end=_when(attempt.ended),
                        error=render(" — <span class='error'>{e}</span>", e=attempt.error)
                        if attempt.error
                        else Html(""),
                    )
                    for number, attempt in enumerate(step.attempts, 1)
                ),
            )
        what = {
            "activity": "activity",
            "orchestration": "sub-orchestration",
            "timer": "timer",
            "entity": "entity operation",
        }.get(step.kind, "")
        what = {"event": "event received", "start": "started", "end": "ended"}.get(step.kind, what)
        lines.append(
            render(
                '<li class="step step-{state}"><span class="kind">{what}</span> <strong>{name}</strong> '
                '<span class="state">[{label}]</span><br>{start} → {end}{until}{detail}{attempts}</li>',
                state=step.state,
                label=_STATE_LABELS.get(step.state, step.state),
                until=render(" (set for {at})", at=_when(step.fire_at)) if step.fire_at else Html(""),
                what=what,
                name=step.name,
                start=_when(step.started),
                end=_when(step.ended) if step.ended else "…",
                detail=render(" <span class='detail'>{d}</span>", d=text(step.detail))
                if step.detail
                else Html(""),
                attempts=attempts,
            )
        )
    return render(
        '<section aria-label="{caption}"><h3>{caption}</h3><ol class="timeline">{lines}</ol></section>',
        caption=caption,
        lines=join(lines),
    )


def _normalized(value: str) -> str:
    return " ".join(value.split()).casefold()


def transcript_html(transcript: str | None, score: InterviewScore | None) -> Html:
    """Render the transcript, each line quoted as evidence marked with the dimensions that quoted it."""
    if not transcript:
        return Html("<p>No transcript yet.</p>")
    quotes: list[tuple[str, str, int]] = []
    if score is not None:
        for index, dimension in enumerate(score.dimensions):
            quotes += [
                (_normalized(quote_), dimension.name, index % 6) for quote_ in dimension.evidence if quote_
            ]
    lines = []
    for line in transcript.splitlines():
        if not line.strip():
            continue
        normalized = _normalized(line)
        cited = [(name, colour) for quote_, name, colour in quotes if quote_ and quote_ in normalized]
        if cited:
            labels = join(
                render('<span class="dim dim-{c}">{name}</span>', c=colour, name=name)
                for name, colour in cited
            )
            lines.append(
                render(
                    '<li class="evidence"><mark class="dim-{c}">{line}</mark> <span class="cited">'
                    "(evidence for {labels})</span></li>",
                    c=cited[0][1],
                    line=text(line),
                    labels=labels,
                )
            )
        else:
            lines.append(render("<li>{line}</li>", line=text(line)))
    return render('<ol class="transcript">{lines}</ol>', lines=join(lines))


def _scores(score: InterviewScore | None) -> Html:
    if score is None:
        return Html("<p>Not scored yet.</p>")
    rows = [
        render(
            '<tr><th scope="row"><span class="dim dim-{c}">{name}</span></th><td>{score} / 5</td>'
            "<td>{comment}</td><td>{quotes}</td></tr>",
            c=index % 6,
            name=dimension.name,
            score=dimension.score,
            comment=text(dimension.comment),
            quotes=join(render("<q>{q}</q> ", q=text(q)) for q in dimension.evidence),
        )
        for index, dimension in enumerate(score.dimensions)
    ]
    return render(
        "<p>Overall <strong>{overall} / 5</strong>, recommendation <strong>{rec}</strong>.</p>"
        '<div class="table-wrap"><table><caption>Scores per dimension</caption><thead><tr>'
        '<th scope="col">Dimension</th><th scope="col">Score</th><th scope="col">Comment</th>'
        '<th scope="col">Quoted evidence</th></tr></thead><tbody>{rows}</tbody></table></div>'
        "<p>{narrative}</p>",
        overall=_score(score.overall, 1),
        rec=_label(score.recommendation.value),
        rows=join(rows),
        narrative=text(score.narrative),
    )


def _profile(detail: CandidateDetail) -> Html:
    profile = detail.profile
    if profile is None:
        return Html("<p>Not parsed yet.</p>")
    jobs = join(
        render(
            "<li>{title}, {company} ({start} – {end}, {years} y)</li>",
            title=text(entry.title),
            company=text(entry.company),
            start=entry.start_date,
            end=entry.end_date or "now",
            years=f"{entry.years:g}",
        )
        for entry in profile.experience
    )
    return render(
        "<dl><dt>Name</dt><dd>{name}</dd><dt>Headline</dt><dd>{headline}</dd>"
        "<dt>Location</dt><dd>{location}</dd><dt>Experience</dt><dd>{years} years</dd>"
        "<dt>Skills</dt><dd>{skills}</dd></dl><ul>{jobs}</ul>",
        name=text(profile.full_name),
        headline=text(profile.headline),
        location=text(profile.location or "–"),
        years=f"{profile.total_years_experience:g}",
        skills=_skills(profile.skills),
        jobs=jobs,
    )


def _interview(detail: CandidateDetail) -> Html:
    slots = join(
        render(
            "<li>{start} – {end} with {who} (candidate time zone {zone})</li>",
            start=_when(slot.start),
            end=_when(slot.end),
            who=text(slot.interviewer),
            zone=slot.candidate_time_zone,
        )
        for slot in detail.slots
    )
    calls = join(
        render(
            "<li>call {n}: placed {placed}, {outcome}{ended}</li>",
            n=call.number,
            placed=_when(call.placed_at),
            outcome=call.outcome,
            ended=render(", ended {e}", e=_when(call.ended_at)) if call.ended_at else Html(""),
        )
        for call in detail.calls
    )
    return render(
        "<h3>Slots</h3>{slots}<h3>Call attempts</h3>{calls}",
        slots=render("<ul>{s}</ul>", s=slots) if detail.slots else Html("<p>No slot booked.</p>"),
        calls=render("<ol>{c}</ol>", c=calls) if detail.calls else Html("<p>No call placed.</p>"),
    )


def _actions(detail: CandidateDetail, context: PageContext) -> Html:
    view = detail.row.view
    if view.get("runtime_status") not in ("Running", "Pending", "Suspended"):
        return Html("")
    review = Html("")
    if view.get("stage") == Stage.AWAITING_REVIEW.value:
        review = render(
            "<h3>Decide the review</h3><p>Deadline {deadline}</p>{form}",
            deadline=_when(detail.review_deadline),
            form=decision_form(detail.row.id, context),
        )
    return render(
        '<section aria-labelledby="actions-title"><h2 id="actions-title">Actions</h2>{review}'
        '<form method="post" action="{withdraw}" class="inline" data-once>{csrf}'
        '<label for="withdraw-reason">Reason</label> '
        '<input id="withdraw-reason" name="reason" maxlength="500"> '
        '<button type="submit" class="secondary">Withdraw</button></form>'
        '<form method="post" action="{cancel}" class="inline" data-once '
        'data-confirm="Cancel this candidate?">{csrf}'
        '<button type="submit" class="danger">Cancel pipeline</button></form></section>',
        review=review,
        withdraw=url("candidates", detail.row.id, "withdraw"),
        cancel=url("candidates", detail.row.id, "cancel"),
        csrf=csrf_field(context),
    )


def candidate_body(detail: CandidateDetail, context: PageContext) -> Html:
    """Render the candidate: state, actions, profile, screening, interview, transcript, report, timeline."""
    view = detail.row.view
    failure = view.get("failure")
    failure_html = Html("")
    if failure:
        failure_html = render(
            '<p class="failure" role="alert"><strong>Reason:</strong> {code}: {message}</p>',
            code=failure.get("code"),
            message=text(failure.get("message")),
        )
    decisions = join(
        render(
            "<li>{decision} by {who}{note}</li>",
            decision=_label(str(item.get("decision"))),
            who=text(item.get("recruiter") or "a recruiter"),
            note=render(": <q>{n}</q>", n=text(item.get("note"))) if item.get("note") else Html(""),
        )
        for item in detail.decisions
    )
    report = Html("<p>No report yet.</p>")
    if view.get("report"):
        report = render(
            '<p><a href="{html}">Open the report</a> · <a href="{json}">JSON</a></p>',
            html=url("candidates", detail.row.id, "report"),
            json=url("candidates", detail.row.id, "report") + "?format=json",
        )
    status = render(
        '<section data-live id="state" aria-live="polite"><p>{badge} {bar}</p>'
        "<dl><dt>Job</dt><dd>{job}</dd><dt>Intake</dt><dd>{intake}</dd><dt>Outcome</dt><dd>{outcome}</dd>"
        "<dt>Updated</dt><dd>{updated}</dd><dt>Id</dt><dd><code>{id}</code></dd></dl>{failure}"
        "{decisions}</section>",
        badge=stage_badge(view.get("stage"), view.get("runtime_status")),
        bar=progress(float(view.get("progress") or 0), "pipeline progress"),
        job=text(detail.job_title or view.get("job_id") or "–"),
        intake=detail.row.intake,
        outcome=_label(detail.row.outcome) or "in progress",
        updated=_when(view.get("stage_updated_at") or view.get("updated_at")),
        id=detail.row.id,
        failure=failure_html,
        decisions=render("<h3>Recruiter decisions</h3><ul>{d}</ul>", d=decisions)
        if detail.decisions
        else Html(""),
    )
    return render(
        '<p><a href="{job_link}">← all candidates of this job</a></p>{status}{actions}'
        '<div data-live id="details">'
        '<section aria-labelledby="profile-title"><h2 id="profile-title">Profile</h2>{profile}</section>'
        '<section aria-labelledby="screening-title"><h2 id="screening-title">Screening</h2>{screening}'
        "</section>"
        '<section aria-labelledby="interview-title"><h2 id="interview-title">Interview</h2>{interview}'
        "</section>"
        '<section aria-labelledby="scores-title"><h2 id="scores-title">Scores</h2>{scores}</section>'
        '<section aria-labelledby="transcript-title"><h2 id="transcript-title">Transcript</h2>{transcript}'
        "</section>"
        '<section aria-labelledby="report-title"><h2 id="report-title">Report</h2>{report}</section>'
        '<section aria-labelledby="timeline-title" id="timeline"><h2 id="timeline-title">Timeline</h2>'
        "{timeline}{interview_timeline}</section></div>",
        job_link=url("jobs", str(view.get("job_id") or "")),
        status=status,
        actions=_actions(detail, context),
        profile=_profile(detail),
        screening=screening_breakdown(detail.screening),
        interview=_interview(detail),
        scores=_scores(detail.score),
        transcript=transcript_html(detail.transcript, detail.score),
        report=report,
        timeline=_timeline(detail.timeline, "candidate_pipeline"),
        interview_timeline=_timeline(detail.interview_timeline, "interview"),
    )


# ----------------------------------------------------------------------------------------------------
# Upload and batch screening


def _job_select(jobs: list[tuple[str, str]], selected: str | None) -> Html:
    return join(
        render(
            '<option value="{id}"{sel}>{title}</option>',
            id=job_id,
            title=f"{title} ({job_id})",
            sel=Html(" selected" if job_id == selected else ""),
        )
        for job_id, title in jobs
    )


def upload_body(jobs: list[tuple[str, str]], selected: str | None, context: PageContext) -> Html:
    """Render the upload form: a PDF or DOCX resume and contact details, as the multipart API takes them."""
    return render(
        '<form method="post" action="{action}" enctype="multipart/form-data" class="stack" data-once>{csrf}'
        '<label for="job">Job</label><select id="job" name="job_id" required>{jobs}</select>'
        '<label for="resume">Resume (PDF or DOCX, up to 10 MiB)</label>'
        '<input id="resume" name="resume" type="file" required '
        'accept=".pdf,.docx,application/pdf,application/vnd.openxmlformats-officedocument.wordprocessingml.document">'
        '<label for="name">Name</label>'
        '<input id="name" name="name" required maxlength="200" autocomplete="name">'
        '<label for="email">Email (optional)</label>'
        '<input id="email" name="email" type="email" maxlength="320" autocomplete="email">'
        '<label for="phone">Phone (optional, E.164 such as +14155550100)</label>'
        '<input id="phone" name="phone" type="tel" pattern="\\+[1-9][0-9]{{6,14}}" autocomplete="tel">'
        '<label for="time_zone">Time zone (IANA, e.g. Europe/Paris)</label>'
        '<input id="time_zone" name="time_zone" value="UTC" maxlength="64">'
        '<button type="submit">Submit the resume</button></form>',
        action=url("actions", "upload"),
        csrf=csrf_field(context),
        jobs=_job_select(jobs, selected),
    )


def screenings_body(
    jobs: list[tuple[str, str]], selected: str | None, screenings: list[dict[str, Any]], context: PageContext
) -> Html:
    """Start a batch screening for a job, and the job's screenings so far."""
    items = join(
        render(
            '<li><a href="{href}">{id}</a>: {status}, {bar}</li>',
            href=url("screenings", str(view["id"])),
            id=view["id"],
            status=view.get("runtime_status"),
            bar=progress(float(view.get("progress") or 0), "screening progress"),
        )
        for view in screenings
    )
    return render(
        '<form method="post" action="{action}" class="stack" data-once>{csrf}'
        '<label for="job">Job</label><select id="job" name="job_id" required>{jobs}</select>'
        '<label for="shortlist">Shortlist size</label>'
        '<input id="shortlist" name="shortlist_size" type="number" min="1" max="200" value="10">'
        '<label for="concurrency">Candidates screened at once</label>'
        '<input id="concurrency" name="max_concurrency" type="number" min="1" max="64" value="4">'
        '<button type="submit">Screen every resume of the job</button></form>'
        '<section data-live id="screenings"><h2>Screenings</h2>{items}</section>',
        action=url("actions", "screening"),
        csrf=csrf_field(context),
        jobs=_job_select(jobs, selected),
        items=render("<ul>{i}</ul>", i=items) if screenings else Html("<p>None yet.</p>"),
    )


def screening_body(view: dict[str, Any]) -> Html:
    """One batch screening: progress, then the ranked shortlist."""
    result = view.get("result") or {}
    shortlist = join(
        render(
            '<tr><th scope="row">{rank}</th><td><a href="{href}">{id}</a></td><td>{outcome}</td>'
            "<td>{screening}</td><td>{interview}</td></tr>",
            rank=item.get("rank"),
            href=url("candidates", str(item.get("instance_id"))),
            id=item.get("instance_id"),
            outcome=_label(item.get("outcome")),
            screening=_score(item.get("screening_score")),
            interview=_score(item.get("interview_overall"), 1),
        )
        for item in result.get("shortlist", [])
    )
    table = Html("<p>The shortlist appears when every candidate has finished.</p>")
    if result and not result.get("shortlist"):
        table = render(
            "<p>Nobody is on the shortlist: only interviewed candidates are ranked.</p>"
            "<p>Outcomes: {outcomes}</p>",
            outcomes=", ".join(f"{_label(k)} {v}" for k, v in sorted(result.get("outcomes", {}).items())),
        )
    elif result:
        table = render(
            '<div class="table-wrap"><table><caption>Ranked shortlist</caption><thead><tr>'
            '<th scope="col">Rank</th><th scope="col">Candidate</th><th scope="col">Outcome</th>'
            '<th scope="col">Screening</th><th scope="col">Interview</th></tr></thead>'
            "<tbody>{rows}</tbody></table></div><p>Outcomes: {outcomes}</p>",
            rows=shortlist,
            outcomes=", ".join(f"{_label(k)} {v}" for k, v in sorted(result.get("outcomes", {}).items())),
        )
    return render(
        '<div data-live id="screening" aria-live="polite"><p>{status} {bar}</p><p>{detail}</p>{table}</div>',
        status=view.get("runtime_status"),
        bar=progress(float(view.get("progress") or 0), "screening progress"),
        detail=view.get("detail") or "",
        table=table,
    )
