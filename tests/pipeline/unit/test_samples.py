import json
from pathlib import Path

import pypdf
import pytest

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
