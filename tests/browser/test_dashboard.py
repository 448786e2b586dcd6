"""The dashboard in a real browser (headless Chromium) against the real local stack, keyed as on Azure.

One stack and one browser serve the whole module; the tests run in file order and follow one candidate:
uploaded through the form, seen moving on the job's page without a reload, decided from the review queue
(double-clicked: it is still sent once), moved to its interview with the page's clock panel (the stack hands
the app devhost's master key), and
read on its page: transcript with the scoring's quotes marked, and the timeline from the durable history.
The candidate's name is a script tag and the recruiter's note carries quotes, markup and a right-to-left
override: both must reach the page as text. Screenshots go to ``docs/images/``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from hireflow.azurite import REPO_ROOT
from hireflow.stack import LocalStack, StackOptions
from orchestrators.identity import interview_instance_id
from tests.e2e.support import get_json, history_event_names, sample

pytestmark = [pytest.mark.e2e, pytest.mark.subprocess]

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
JOB_ID = "python-backend-engineer"
HOSTILE_NAME = "<script>alert(1)</script>"
REFUSED_NOTE = "looks fine \u202eyrtnuoc\u202c"
"""A right-to-left override: the API refuses control characters; the page says so and keeps the note."""
HOSTILE_NOTE = "Strong \"async\" answers <b>bold</b> & 'quotes' \u05e9\u05dc\u05d5\u05dd 42"
"""Quotes, markup, an ampersand and right-to-left letters: shown as text, isolated from the text around."""
SCREENSHOTS_ENV = "HIREFLOW_SCREENSHOTS"
"""Set to ``docs/images`` to refresh the committed screenshots; by default they go to the test's temp dir."""
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
MOVE_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The keyed local stack, seeded, its clock switched to real time as ``demo --keep-running`` does."""
    work_dir = tmp_path_factory.mktemp("dashboard-stack")
    with LocalStack(StackOptions(work_dir=work_dir, require_keys=True)) as running:
        running.seed_jobs()
        running.use_real_time()
        yield running


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    assert Path(CHROMIUM).is_file(), f"the browser tests need Chromium at {CHROMIUM} (make test installs it)"
    launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
    yield launched
    launched.close()


class Watched:
    """A signed-in page, with everything that must never happen recorded: dialogs, CSP violations, errors."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.problems: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        # Only the Cancel button asks for confirmation; no test here cancels.
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(message.text)


@pytest.fixture(scope="module")
def signed_in(browser: Browser, stack: LocalStack) -> Iterator[Watched]:
    context = browser.new_context(viewport=LAPTOP)
    watched = Watched(context.new_page())
    watched.page.goto(stack.dashboard_url)
    yield watched
    context.close()


@pytest.fixture(scope="module")
def candidate(signed_in: Watched, stack: LocalStack) -> dict[str, str]:
    """The candidate uploaded through the form (filled in by the first test)."""
    return {}


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$HIREFLOW_SCREENSHOTS`` (relative to the repository), else a temp dir.

    A test run must not rewrite tracked files in a shared work tree, so refreshing ``docs/images`` is asked
    for explicitly.
    """
    wanted = os.environ.get(SCREENSHOTS_ENV)
    folder = REPO_ROOT / wanted if wanted else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shot(page: Page, folder: Path, name: str) -> None:
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, f"{name} is nearly empty"


# ----------------------------------------------------------------------------------------------------


def test_the_sign_in_link_leaves_a_clean_url_and_works_once(
    signed_in: Watched, browser: Browser, stack: LocalStack
) -> None:
    page = signed_in.page
    assert page.url.endswith("/api/dashboard?notice=signed_in"), page.url
    assert "ticket" not in page.url
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Signed in")
    # The host is keyed; the stack gave the app its master key, so the clock panel can move time.
    clock = page.locator("section.clock")
    expect(clock).to_contain_text("Mode real")
    expect(clock.get_by_role("button", name="Advance to next timer")).to_be_visible()
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    session = cookies["hireflow_dashboard_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"

    # The same link in another browser is refused: it was used already.
    used_link = stack.dashboard_url
    other = browser.new_context()
    try:
        first = other.new_page()
        first.goto(used_link)
        expect(first.get_by_role("heading", name="Jobs")).to_be_visible()
        second = browser.new_context().new_page()
        response = second.goto(used_link)
        assert response is not None
        assert response.status == 401
        expect(second.locator("main")).to_contain_text("used already")
        # And without any session the dashboard is closed.
        bare = second.goto(f"{stack.api_url}/api/dashboard/reviews")
        assert bare is not None
        assert bare.status == 401
        second.context.close()
    finally:
        other.close()


def test_a_resume_uploaded_through_the_form_appears_and_moves_without_a_reload(
    signed_in: Watched, stack: LocalStack, candidate: dict[str, str], screenshots: Path
) -> None:
    page = signed_in.page
    ben = sample("ben-average")
    page.get_by_role("link", name="Upload").click()
    page.get_by_label("Job").select_option(JOB_ID)
    page.get_by_label("Resume (PDF or DOCX, up to 10 MiB)").set_input_files(str(ben.resume))
    page.get_by_label("Name").fill(HOSTILE_NAME)
    page.get_by_label("Phone (optional, E.164 such as +14155550100)").fill(str(ben.phone))
    page.get_by_label("Time zone (IANA, e.g. Europe/Paris)").fill(str(ben.time_zone))
    _shot(page, screenshots, "dashboard-upload.png")
    page.get_by_role("button", name="Submit the resume").click()

    expect(page.get_by_role("status")).to_contain_text("Resume submitted")
    found = re.search(r"/api/dashboard/candidates/([^/?]+)", page.url)
    assert found, page.url
    candidate["id"] = found.group(1)
    # The name is shown as the text it is, as the page's title and nowhere as markup.
    expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE_NAME)

    page.goto(f"{stack.api_url}/api/dashboard/jobs/{JOB_ID}")
    row = page.locator(f"tr[data-candidate='{candidate['id']}']")
    expect(row).to_be_visible()
    expect(row.get_by_role("link")).to_have_text(HOSTILE_NAME)
    # The start path is recorded on the pipeline's input: the form sends a multipart upload.
    expect(row.locator("td[data-label='Intake']")).to_have_text("upload")
    page.evaluate("window.stillTheSamePage = true")
    # Screening needs a review for this resume; the row gets there through the page's own refresh.
    expect(row).to_contain_text("awaiting review", timeout=MOVE_TIMEOUT_MS)
    assert page.evaluate("window.stillTheSamePage") is True, "the page was reloaded"
    _shot(page, screenshots, "dashboard-job.png")
    assert signed_in.dialogs == [], "a value ran as script"


def test_the_review_queue_decides_once_even_on_a_double_click(
    signed_in: Watched, stack: LocalStack, candidate: dict[str, str], screenshots: Path
) -> None:
    page = signed_in.page
    page.get_by_role("link", name="Review queue").click()
    card = page.locator(f"article[data-candidate='{candidate['id']}']")
    expect(card).to_be_visible()
    expect(card.get_by_role("heading")).to_have_text(HOSTILE_NAME)
    expect(card).to_contain_text("Must-have missing")
    expect(card.locator(".deadline strong")).to_have_text(re.compile(r"^2 d 2\d h left$"))
    card.get_by_label("Note (optional)").fill(REFUSED_NOTE)
    card.get_by_role("button", name="Advance").click()
    expect(page.locator("main")).to_contain_text("U+202E is not allowed")
    expect(page.get_by_label("Your note, as you wrote it")).to_have_value(REFUSED_NOTE)
    assert "RecruiterDecision" not in history_event_names(stack, candidate["id"])

    page.get_by_role("link", name="Back").click()
    card = page.locator(f"article[data-candidate='{candidate['id']}']")
    card.get_by_label("Note (optional)").fill(HOSTILE_NOTE)
    _shot(page, screenshots, "dashboard-review-queue.png")
    card.get_by_role("button", name="Advance").dblclick()
    expect(page.get_by_role("status")).to_contain_text("Decision sent")
    events = history_event_names(stack, candidate["id"])
    assert events.count("RecruiterDecision") == 1, events

    page.goto(f"{stack.api_url}/api/dashboard/candidates/{candidate['id']}")
    decisions = page.locator("#state ul")
    expect(decisions).to_contain_text("advance by local recruiter")
    # The note is text: its markup is shown, not applied, and its direction override stays inside it.
    expect(decisions.locator("q")).to_have_text(HOSTILE_NOTE)
    assert decisions.locator("b").count() == 0
    assert decisions.locator("q bdi").count() == 1


def test_the_candidate_goes_on_to_its_interview_when_the_clock_is_advanced(
    signed_in: Watched, stack: LocalStack, candidate: dict[str, str]
) -> None:
    page = signed_in.page
    state = page.locator("#state")
    # In real time the interview waits for its slot, a day or more away ...
    expect(state).to_contain_text("waiting for slot", timeout=MOVE_TIMEOUT_MS)
    # ... until someone moves the clock on purpose, here with the page's own clock panel (keyed host).
    page.locator("section.clock").get_by_role("button", name="Advance to next timer").click()
    expect(page.get_by_role("status")).to_contain_text("The clock moved")
    expect(state).to_contain_text("interviewed", timeout=MOVE_TIMEOUT_MS)
    expect(state.locator(".badge")).to_have_text("completed")


def test_the_candidate_page_shows_the_transcript_evidence_and_the_timeline(
    signed_in: Watched, stack: LocalStack, candidate: dict[str, str], screenshots: Path
) -> None:
    page = signed_in.page
    page.reload()
    transcript = page.locator("ol.transcript")
    expect(transcript.locator("li").first).to_be_visible()
    marks = transcript.locator("li.evidence mark")
    assert marks.count() >= 1, "no quote the scoring used is highlighted"
    expect(transcript.locator("li.evidence .cited").first).to_contain_text("evidence for")

    timeline = page.locator("#timeline")
    for step in (
        "extract_resume_text",
        "screen_candidate",
        "RecruiterDecision",
        "interview",
        "score_transcript",
    ):
        expect(timeline).to_contain_text(step)
    expect(timeline).to_contain_text("place_interview_call")
    expect(timeline).to_contain_text("CallConnected")
    expect(timeline.locator(".step-fired").first).to_be_visible()  # the slot timer the clock fired
    # Each OpenAI step reserved tokens from the shared budget: an entity operation, not a raw response id.
    expect(timeline).to_contain_text("openai_token_budget.reserve")
    expect(timeline).not_to_contain_text("@response:")
    expect(page.locator("#details")).to_contain_text("call 1: placed")
    status = get_json(
        f"{stack.api_url}/runtime/webhooks/durabletask/instances/{interview_instance_id(candidate['id'])}",
        stack.durable_api_headers(),
    )
    assert status["runtimeStatus"] == "Completed"

    page.get_by_role("link", name="Open the report").click()
    expect(page).to_have_url(re.compile(r"/report$"))
    expect(page.locator("body")).to_contain_text(HOSTILE_NAME)
    page.go_back()
    _shot(page, screenshots, "dashboard-candidate.png")
    assert signed_in.dialogs == []
    assert [problem for problem in signed_in.problems if "Content Security Policy" in problem] == []


def test_keyboard_alone_reaches_the_review_queue(signed_in: Watched, stack: LocalStack) -> None:
    page = signed_in.page
    page.goto(f"{stack.api_url}/api/dashboard")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(3):
        page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Review queue")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")


def test_the_pages_fit_a_phone_width(
    signed_in: Watched, stack: LocalStack, candidate: dict[str, str], screenshots: Path
) -> None:
    page = signed_in.page
    page.set_viewport_size(PHONE)
    try:
        for path in ("", f"/jobs/{JOB_ID}", "/reviews", "/upload", f"/candidates/{candidate['id']}"):
            page.goto(f"{stack.api_url}/api/dashboard{path}")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path or '/'} scrolls sideways by {overflow}px at 390px"
        page.goto(f"{stack.api_url}/api/dashboard/jobs/{JOB_ID}")
        _shot(page, screenshots, "dashboard-phone.png")
    finally:
        page.set_viewport_size(LAPTOP)


def test_a_batch_screening_is_followed_to_its_ranked_shortlist(
    signed_in: Watched, stack: LocalStack, candidate: dict[str, str], screenshots: Path
) -> None:
    page = signed_in.page
    page.get_by_role("navigation").get_by_role("link", name="Batch screening").click()
    page.get_by_label("Job").select_option(JOB_ID)
    page.get_by_label("Shortlist size").fill("3")
    page.get_by_role("button", name="Screen every resume of the job").click()
    expect(page.get_by_role("status")).to_contain_text("Batch screening started")
    screening_url = page.url.split("?", 1)[0]

    # Its one resume (the upload above) needs a review again; the queue shows it without a reload.
    page.get_by_role("navigation").get_by_role("link", name="Review queue").click()
    card = page.locator("article[data-candidate*='.batch-']")
    expect(card).to_be_visible(timeout=MOVE_TIMEOUT_MS)
    card.get_by_role("heading").get_by_role("link").click()
    page.get_by_role("button", name="Advance", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Decision sent")
    expect(page.locator("#state")).to_contain_text("waiting for slot", timeout=MOVE_TIMEOUT_MS)
    stack.advance_clock()

    page.goto(screening_url)
    shortlist = page.locator("#screening").get_by_role("table", name="Ranked shortlist")
    expect(shortlist).to_contain_text("interviewed", timeout=MOVE_TIMEOUT_MS)
    expect(shortlist.locator("tbody tr")).to_have_count(1)
    expect(page.locator("#screening")).to_contain_text("Completed")
    _shot(page, screenshots, "dashboard-screening.png")
