import json
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest

from emulators.brain.resume import extract_profile
from emulators.brain.screening import screen
from emulators.personas import Behaviour, load_personas
from samples.make_samples import CANDIDATES, write_all
from shared.models import JobDefinition

SAMPLES = Path(__file__).resolve().parents[3] / "samples"


def test_committed_samples_are_exactly_what_the_generator_writes(tmp_path: Path) -> None:
    for path in write_all(tmp_path):
        committed = SAMPLES / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), (
            f"{committed} is stale: run python -m samples.make_samples"
        )


def test_jobs_validate_and_are_named_after_their_id() -> None:
    jobs = sorted((SAMPLES / "jobs").glob("*.json"))
    assert jobs
    for path in jobs:
        job = JobDefinition.model_validate_json(path.read_bytes())
        assert job.job_id == path.stem
        assert job.must_have
        assert job.interview.questions
        assert job.interview.dimensions
        assert all(d.keywords for d in job.interview.dimensions)
        assert job.interviewers


def test_candidates_cover_every_case_and_formats() -> None:
    manifest = json.loads((SAMPLES / "candidates.json").read_text())
    assert len(manifest) == 6
    formats = {Path(c["resume"]).suffix for c in manifest}
    assert formats == {".pdf", ".docx"}
    for candidate in manifest:
        assert (SAMPLES / candidate["resume"]).is_file()
        assert candidate["phone"].startswith("+")


def test_generated_pdfs_are_readable_and_the_corrupt_one_is_not() -> None:
    for candidate in CANDIDATES:
        path = SAMPLES / "resumes" / f"{candidate.key}.{candidate.file_format}"
        if candidate.file_format != "pdf":
            continue
        if candidate.key.endswith("corrupt"):
            with pytest.raises(pypdf.errors.PdfReadError):
                pypdf.PdfReader(path).pages[0].extract_text()
        else:
            assert candidate.name in pypdf.PdfReader(path).pages[0].extract_text()


def test_personas_load_in_the_acs_emulator() -> None:
    book = load_personas(SAMPLES / "personas.json")
    behaviours = {c.key: book.for_target(c.phone).behaviour for c in CANDIDATES}
    assert behaviours["dan-no-answer"] is Behaviour.NO_ANSWER
    assert behaviours["cara-weak"] is Behaviour.ANSWERS_POORLY
    assert behaviours["ada-strong"] is Behaviour.ANSWERS_WELL
    assert "idempotent" in book.for_target("+14255550201").answer(1)


@pytest.mark.parametrize("years_ahead", [0, 10])
def test_each_samples_screening_is_what_the_demo_expects_today_and_years_from_now(years_ahead: int) -> None:
    # A resume whose last role runs to "Present" gains experience as the calendar moves on, so an expected
    # screening must hold for years to come, not just on the day the samples were written.
    expectations = json.loads((SAMPLES / "expectations.json").read_text())
    job = json.loads((SAMPLES / "jobs" / "python-backend-engineer.json").read_text())
    now = datetime.now(UTC)
    today = datetime(now.year + years_ahead, now.month, 1, tzinfo=UTC)
    checked = 0
    for candidate in CANDIDATES:
        expected = expectations[candidate.key].get("screening")
        if expected is None:
            continue
        profile = extract_profile("\n".join(candidate.lines), today=today)
        assert screen(job, profile)["decision"] == expected, candidate.key
        checked += 1
    assert checked >= 5
