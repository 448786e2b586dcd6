"""Pipeline benchmark: candidates through the whole local stack (Azurite, emulators, devhost), time skipped.

``.venv/bin/python bench/pipeline.py [--sizes full|small|tiny]`` runs four phases and ends with one JSON line:

1. **throughput**: N candidates submitted at once over the HTTP API; wall time from the first submit to the
   last candidate finished, and each candidate's latency.
2. **overhead**: M candidates one at a time, so everything that runs in a candidate's window is its own.
   Orchestration overhead = the candidate's wall time minus the seconds the app's own functions were running
   (activities and triggers, overlapping ones counted once: devhost's ``/admin/stats`` ``busy_s``): what
   devhost's host and durable engine add (dispatch, replay, commits, timers, the waits between one function
   and the next). Overhead = wall time minus only the seconds the emulators spent serving the candidate's
   requests (their ``/admin/stats`` ``served_s``): the app's own work plus the orchestration. Median and p95
   of both; the emulators answer at once (no ring, no wait for the recording).
3. **quota**: the OpenAI emulator's token quota (tokens per ``--rate-window``) is set so the same work needs
   several windows; K candidates at once; achieved tokens / what the quota allowed over the span of
   admissions, and the number of candidates that did not end as expected (goal: 0).
4. **recording**: a fresh stack whose candidate's call is recorded for hours (a ``very_long`` persona, a WAV
   of at least ``--recording-mb`` MiB); devhost's RSS is sampled from ``/proc`` while it streams the
   recording from the ACS emulator into Blob storage; peak minus the RSS just before the fetch, once the
   candidate's earlier stages are done (goal: under 150 MB). The candidate is cancelled once the recording
   is fetched: transcribing it is not what this phase measures.

With ``--fault-rate R`` the benchmark runs one phase instead: **faults**, ``--fault-candidates`` candidates at
once while every emulated service (OpenAI, Document Intelligence, ACS) fails that share of its requests
transiently (429, 500, 503 and dropped connections in equal parts, seeded by ``--fault-seed``). Figures: how
many candidates ended ``interviewed``, how many interviews the question flow had to cut short (a
``CallEnded`` whose reason says ``interview_incomplete``), the faults each service injected, and the share
of candidates ``shared.retry.candidate_failure_probability`` predicts lost at that rate.

Every candidate uses the strong sample resume under its own blob name and its own phone number (the default
persona answers well), so each one runs the whole pipeline: extraction, parsing, screening, a booked slot
(skipped), a call, the recording, transcription, scoring and the report.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hireflow.client import Candidate, HireflowClient
from hireflow.stack import SAMPLES_DIR, LocalStack, StackOptions
from shared.retry import candidate_failure_probability

JOB_ID = "python-backend-engineer"
RESUME = SAMPLES_DIR / "resumes" / "ada-strong.pdf"
EXPECTED_OUTCOME = "interviewed"
CHAT_DEPLOYMENT = "gpt-4o-mini"
BUDGET_ENTITY = "openai_token_budget"
"""The app's shared token budget, a Durable Entity keyed by deployment (``orchestrators/token_budget.py``)."""
VERY_LONG_PHONE = "+14255559999"
WAV_BYTES_PER_S = 16_000 * 2
"""The ACS emulator records PCM 16-bit mono at 16 kHz."""
MIB = 1024 * 1024
POLL_S = 0.1
OBSERVE_POLL_S = 0.01
"""Phase 2 watches each candidate's orchestration through the Durable HTTP API this often. devhost answers a
status read from memory and runs none of the app's functions for it; reading the candidate view instead would
run ``get_candidate`` (and list blobs) 20 times a second, work that is neither the candidate's nor the host's.
"""
TERMINAL_RUNTIME_STATUSES = frozenset({"Completed", "Failed", "Terminated", "Canceled"})

FIGURE_KEYS = (
    "candidates",
    "wall_s",
    "candidates_per_min",
    "latency_median_s",
    "latency_p95_s",
    "failed_candidates",
    "overhead_candidates",
    "orchestration_overhead_median_s",
    "orchestration_overhead_p95_s",
    "app_function_median_s",
    "overhead_median_s",
    "overhead_p95_s",
    "emulator_median_s",
    "candidate_wall_median_s",
    "quota_candidates",
    "quota_tokens_per_window",
    "quota_window_s",
    "quota_tokens_admitted",
    "quota_admission_span_s",
    "quota_refused_requests",
    "quota_admitted_requests",
    "quota_refused_share",
    "quota_budget_waits",
    "quota_wall_s",
    "quota_utilization",
    "quota_utilization_strict",
    "quota_failed_candidates",
    "recording_bytes",
    "recording_fetch_s",
    "recording_fresh_rss_mb",
    "recording_idle_rss_mb",
    "recording_fetch_peak_rss_mb",
    "recording_fetch_peak_mb_above_idle",
)
"""Every figure of the final JSON line (besides ``sizes`` and the settings the run used)."""

FAULT_FIGURE_KEYS = (
    "fault_rate",
    "fault_candidates",
    "fault_wall_s",
    "fault_interviewed",
    "fault_failed_candidates",
    "fault_incomplete_interviews",
    "fault_requests_served",
    "fault_requests_injected",
    "fault_injected_share",
    "fault_predicted_loss_share",
)
"""Figures of a ``--fault-rate`` run."""
FAULT_QUIET_S = 5.0
"""devhost's quiet period before it skips time, in the fault phase. The question flow waits out each
transient ACS error (1 s Retry-After from the emulator, up to four in a row) with no engine activity; a
shorter quiet period lets skipped time fire the call's 90-minute limit during that wait and hang up an
interview that was going fine: an artefact of skipped time, not something Azure would do."""
FAULT_KINDS = ("429", "500", "503", "drop")
"""Transient faults the fault phase injects, in equal parts (timeouts would only make the run slow)."""


@dataclass(frozen=True)
class Sizes:
    """How much work each phase does."""

    candidates: int
    overhead_candidates: int
    quota_candidates: int
    recording_mb: int
    rate_window_s: float
    """The OpenAI emulator's rate window: short windows let a small run span many of them."""
    requests_per_window: int
    """The fewest chat requests the derived quota lets through per window. Requests are admitted whole, so a
    window holding only three leaves up to a third of the quota unusable (measured: 0.72 with three)."""
    recording_quiet_s: float
    """Quiet time before devhost skips a timer in the recording phase: the emulator builds a recording of
    hours for a while after the call ends, and the recording deadline must not be skipped to meanwhile."""


SIZES = {
    "full": Sizes(50, 50, 50, 520, 30.0, 20, 45.0),
    "small": Sizes(10, 5, 10, 64, 10.0, 6, 8.0),
    "tiny": Sizes(2, 1, 2, 6, 1.0, 2, 3.0),
}


# ----------------------------------------------------------------------------------------------------
# Helpers


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile by linear interpolation (0.5 = median)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def get_json(url: str, headers: dict[str, str] | None = None, *, timeout: float = 10) -> Any:
    """GET ``url`` and return its JSON body (an HTTP error status raises ``urllib.error.HTTPError``)."""
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


def post_json(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    """POST ``body`` as JSON to ``url`` and read the answer."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def emulator_stats(stack: LocalStack) -> dict[str, Any]:
    """The emulators' ``/admin/stats``."""
    stats: dict[str, Any] = get_json(f"{stack.emulators_url}/admin/stats")
    return stats


def devhost_function_seconds(stack: LocalStack) -> float:
    """Seconds devhost has run the app's functions so far, overlapping ones once (``/admin/stats``)."""
    headers = {"x-functions-key": stack.master_key} if stack.master_key else {}
    return float(get_json(f"{stack.api_url}/admin/stats", headers)["functions"]["busy_s"])


def orchestration_status(stack: LocalStack, instance_id: str) -> str:
    """The runtime status of one orchestration, read through the Durable HTTP API."""
    url = f"{stack.api_url}/runtime/webhooks/durabletask/instances/{instance_id}?showInput=false"
    return str(get_json(url, stack.durable_api_headers())["runtimeStatus"])


def emulator_seconds(stats: dict[str, Any]) -> float:
    """Seconds the emulators spent serving requests, every service together."""
    return float(sum(service.get("served_s", 0.0) for service in stats["services"].values()))


def set_openai_limits(stack: LocalStack, tokens_per_window: int | None) -> None:
    """Change the chat deployment's token quota at run time (its window restarts empty)."""
    post_json(
        f"{stack.emulators_url}/admin/openai/limits",
        {"deployment": CHAT_DEPLOYMENT, "requests_per_minute": None, "tokens_per_minute": tokens_per_window},
    )


def configure_token_budget(stack: LocalStack, tokens_per_window: int | None, window_s: float) -> None:
    """Tell the app's shared token budget the chat deployment's quota, as an operator would on Azure.

    The budget (the ``openai_token_budget`` entity, one per deployment) is signalled through the Durable
    HTTP API; it reserves each OpenAI call's estimate against this quota before the call is made.
    """
    post_json(
        f"{stack.api_url}/runtime/webhooks/durabletask/entities/{BUDGET_ENTITY}/{CHAT_DEPLOYMENT}?op=configure",
        {"tokens_per_window": tokens_per_window, "window_s": window_s},
        stack.durable_api_headers(),
    )


def token_budget_state(stack: LocalStack) -> dict[str, Any]:
    """The chat deployment's budget entity state (empty before its first operation)."""
    url = f"{stack.api_url}/runtime/webhooks/durabletask/entities/{BUDGET_ENTITY}/{CHAT_DEPLOYMENT}"
    try:
        state = get_json(url, stack.durable_api_headers())
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return {}
        raise
    return state if isinstance(state, dict) else {}


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB, from ``/proc/PID/status``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class Submitter:
    """Submits the sample resume as new candidates, each upload made unique so each is its own candidate.

    Uploads go through the API's multipart intake: a blob written straight into the resumes container would
    also start the pipeline through the blob trigger, racing the submission this benchmark times.
    """

    def __init__(self, client: HireflowClient, work_dir: Path) -> None:
        self.client = client
        self.resume = RESUME.read_bytes()
        self.work_dir = work_dir
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def submit(self, phone: str | None = None) -> str:
        """Start one candidate; returns its id."""
        self.count += 1
        # A PDF comment after %%EOF changes the upload's content hash (hence its blob name and instance id)
        # and nothing a reader extracts.
        path = self.work_dir / f"bench-{self.count}.pdf"
        path.write_bytes(self.resume + f"\n% bench {uuid.uuid4().hex}\n".encode())
        submission = self.client.submit_file(
            JOB_ID,
            path,
            name=f"Bench Candidate {self.count}",
            phone=phone or f"+1425557{self.count:04d}",
            time_zone="Europe/Stockholm",
        )
        if not submission.created:
            raise RuntimeError(f"{path.name} was already running as {submission.id}")
        return submission.id


def wait_all(
    client: HireflowClient, ids: Sequence[str], deadline_s: float
) -> tuple[dict[str, float], dict[str, Candidate]]:
    """Poll the job's candidates until every id is finished; when each was first seen finished."""
    pending = set(ids)
    finished_at: dict[str, float] = {}
    final: dict[str, Candidate] = {}
    deadline = time.monotonic() + deadline_s
    while pending:
        for candidate in client.iter_candidates(JOB_ID, page_size=500):
            if candidate.id in pending and candidate.is_terminal:
                finished_at[candidate.id] = time.monotonic()
                final[candidate.id] = candidate
                pending.discard(candidate.id)
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} candidates still running after {deadline_s:.0f} s")
        if pending:
            time.sleep(POLL_S * 2)
    return finished_at, final


def not_as_expected(final: dict[str, Candidate]) -> dict[str, str]:
    """Candidates that did not end ``interviewed``, with how they ended."""
    return {
        id_: f"{c.runtime_status}/{c.outcome}/{(c.failure or {}).get('code')}"
        for id_, c in final.items()
        if c.runtime_status != "Completed" or c.outcome != EXPECTED_OUTCOME
    }


def log(message: str) -> None:
    """Progress for the person running the bench (stderr keeps stdout for the results)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------------
# Phases


def run_throughput(stack: LocalStack, submitter: Submitter, count: int) -> dict[str, Any]:
    """Phase 1: ``count`` candidates at once."""
    started = time.monotonic()
    submitted = {submitter.submit(): time.monotonic() for _ in range(count)}
    finished_at, final = wait_all(submitter.client, list(submitted), deadline_s=120 + 20 * count)
    wall = max(finished_at.values()) - started
    latencies = [finished_at[id_] - at for id_, at in submitted.items()]
    failed = not_as_expected(final)
    if failed:
        log(f"throughput: not as expected: {failed}")
    return {
        "candidates": count,
        "wall_s": wall,
        "candidates_per_min": count / wall * 60,
        "latency_median_s": statistics.median(latencies),
        "latency_p95_s": percentile(latencies, 0.95),
        "failed_candidates": len(failed),
    }


def run_overhead(stack: LocalStack, submitter: Submitter, count: int) -> dict[str, Any]:
    """Phase 2: one candidate at a time; wall time minus the app's function time, and minus the emulators'.

    The window runs from the submission (the upload through the API) to the first status read that shows the
    orchestration finished; the candidate view is read once afterwards, to check how it ended.
    """
    orchestration_overheads: list[float] = []
    app_times: list[float] = []
    overheads: list[float] = []
    emulator_times: list[float] = []
    walls: list[float] = []
    for _ in range(count):
        emulator_before = emulator_seconds(emulator_stats(stack))
        functions_before = devhost_function_seconds(stack)
        started = time.monotonic()
        candidate_id = submitter.submit()
        while orchestration_status(stack, candidate_id) not in TERMINAL_RUNTIME_STATUSES:
            if time.monotonic() - started > 300:
                raise TimeoutError(f"{candidate_id} still running after 300 s")
            time.sleep(OBSERVE_POLL_S)
        wall = time.monotonic() - started
        app_time = devhost_function_seconds(stack) - functions_before
        spent = emulator_seconds(emulator_stats(stack)) - emulator_before
        candidate = submitter.client.candidate(candidate_id)
        if not_as_expected({candidate_id: candidate}):
            raise RuntimeError(
                f"overhead run: {candidate_id} ended {candidate.runtime_status}/{candidate.outcome}"
            )
        walls.append(wall)
        app_times.append(app_time)
        orchestration_overheads.append(wall - app_time)
        emulator_times.append(spent)
        overheads.append(wall - spent)
    return {
        "overhead_candidates": count,
        "orchestration_overhead_median_s": statistics.median(orchestration_overheads),
        "orchestration_overhead_p95_s": percentile(orchestration_overheads, 0.95),
        "app_function_median_s": statistics.median(app_times),
        "overhead_median_s": statistics.median(overheads),
        "overhead_p95_s": percentile(overheads, 0.95),
        "emulator_median_s": statistics.median(emulator_times),
        "candidate_wall_median_s": statistics.median(walls),
    }


def run_quota(
    stack: LocalStack,
    submitter: Submitter,
    count: int,
    *,
    window_s: float,
    tokens_per_candidate: float,
    tokens_per_request: float,
    unconstrained_wall_s: float,
    tokens_per_window: int | None,
    requests_per_window: int,
) -> dict[str, Any]:
    """Phase 3: the chat deployment's token quota binds; achieved tokens over what it allowed."""
    if tokens_per_window is None:
        # Enough quota that the run needs about three times as long as it does unconstrained (so the quota
        # binds all along), never below ``requests_per_window`` requests' worth.
        needed = tokens_per_candidate * count
        target_s = max(3 * unconstrained_wall_s, 6 * window_s)
        tokens_per_window = int(max(needed * window_s / target_s, requests_per_window * tokens_per_request))
    set_openai_limits(stack, tokens_per_window)
    configure_token_budget(stack, tokens_per_window, window_s)
    waits_before = int(token_budget_state(stack).get("deferred", 0))
    before = emulator_stats(stack)["openai_usage"][CHAT_DEPLOYMENT]
    started = time.monotonic()
    ids = [submitter.submit() for _ in range(count)]
    finished_at, final = wait_all(submitter.client, ids, deadline_s=300 + 30 * count)
    wall = max(finished_at.values()) - started
    usage = emulator_stats(stack)["openai_usage"][CHAT_DEPLOYMENT]
    set_openai_limits(stack, None)
    waits = int(token_budget_state(stack).get("deferred", 0)) - waits_before
    configure_token_budget(stack, None, window_s)
    admitted = usage["admitted_tokens"] - before["admitted_tokens"]
    refused_requests = usage["refused_requests"] - before["refused_requests"]
    admitted_requests = usage["admitted_requests"] - before["admitted_requests"]
    span = usage["admitted_span_s"]  # the limiter restarted with the new quota: its span is this phase's
    # Achieved throughput (tokens admitted over the span of admissions) against the quota's rate. A sliding
    # window also lets a full window through at once at the start, so the strict figure divides by that too:
    # the most the limiter could admit from the first admission to the end of the last one's window.
    quota_rate = tokens_per_window / window_s
    achieved_rate = admitted / span if span > 0 else float("nan")
    strict_capacity = tokens_per_window * (span + window_s) / window_s
    failed = not_as_expected(final)
    if failed:
        log(f"quota: not as expected: {failed}")
    return {
        "quota_candidates": count,
        "quota_tokens_per_window": tokens_per_window,
        "quota_window_s": window_s,
        "quota_tokens_admitted": admitted,
        "quota_admission_span_s": span,
        "quota_refused_requests": refused_requests,
        "quota_admitted_requests": admitted_requests,
        # Of every request sent to the deployment, the share the service refused with a 429.
        "quota_refused_share": refused_requests / max(1, admitted_requests + refused_requests),
        "quota_budget_waits": waits,
        "quota_wall_s": wall,
        "quota_utilization": achieved_rate / quota_rate,
        "quota_utilization_strict": admitted / strict_capacity,
        "quota_failed_candidates": len(failed),
    }


def run_recording(work_dir: Path, common: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Phase 4: devhost's memory while it streams a recording of at least ``recording_mb`` MiB into Blob."""
    personas = json.loads((SAMPLES_DIR / "personas.json").read_text())
    minimum_s = sizes.recording_mb * MIB / WAV_BYTES_PER_S
    personas.setdefault("personas", {})[VERY_LONG_PHONE] = {
        "name": "bench-very-long",
        "behaviour": "very_long",
        "min_recording_s": minimum_s,
        "answers": [
            "Let me explain in detail how I approach distributed systems, starting with delivery guarantees, "
            "idempotency keys and the outbox pattern, then how I monitor them with structured logs."
        ],
    }
    personas_path = work_dir / "personas-very-long.json"
    personas_path.write_text(json.dumps(personas))
    options = StackOptions(
        work_dir=work_dir / "recording-stack",
        personas=personas_path,
        skip_timers_quiet_s=sizes.recording_quiet_s,
        **common,
    )
    with LocalStack(options) as stack:
        stack.seed_jobs()
        client = HireflowClient(stack.api_url, timeout=60)
        client.health()
        pid = stack.devhost_pid
        fresh = rss_mb(pid)

        submitter = Submitter(client, work_dir / "uploads-recording")
        candidate_id = submitter.submit(phone=VERY_LONG_PHONE)
        samples: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                try:
                    samples.append((time.monotonic(), rss_mb(pid)))
                except (OSError, RuntimeError):
                    return
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # The fetch window is bounded by polls that saw the stage: from the answer of the first one showing
        # ``fetching_recording`` to the sending of the last one still showing it. Samples just outside belong
        # to the stages around it (the transcription that follows reads the whole recording).
        first_seen: float | None = None
        last_seen: float | None = None
        deadline = time.monotonic() + 900
        try:
            while True:
                asked_at = time.monotonic()
                candidate = client.candidate(candidate_id)
                if candidate.stage == "fetching_recording":
                    first_seen = first_seen or time.monotonic()
                    last_seen = asked_at
                elif first_seen is not None:
                    break
                if candidate.is_terminal:
                    raise RuntimeError(
                        f"recording candidate ended {candidate.runtime_status}/{candidate.outcome} "
                        f"({candidate.failure}) before its recording was fetched"
                    )
                if time.monotonic() > deadline:
                    raise TimeoutError(f"recording candidate still {candidate.stage} after 900 s")
                time.sleep(POLL_S / 4)
        finally:
            stop.set()
            sampler.join(5)
        if not client.candidate(candidate_id).is_terminal:
            client.cancel(candidate_id, reason="benchmark: recording fetched, transcription not measured")
        if first_seen is None or last_seen is None:
            raise RuntimeError("the fetch was never seen")
        # Idle: the host once this candidate's earlier stages are done, waiting for its recording.
        before = [mb for at, mb in samples if at < first_seen - 0.2]
        idle = statistics.median(before[-10:]) if before else fresh
        during = [mb for at, mb in samples if first_seen <= at <= last_seen]
        peak = max(during) if during else max(mb for _, mb in samples)
        recordings = stack.blob_service().get_container_client(
            stack.container_name("RECORDINGS_CONTAINER", "recordings")
        )
        recording_bytes = sum(
            blob.size for blob in recordings.list_blobs() if str(blob.name).endswith(".wav")
        )
    return {
        "recording_bytes": recording_bytes,
        "recording_fetch_s": last_seen - first_seen,
        "recording_fresh_rss_mb": fresh,
        "recording_idle_rss_mb": idle,
        "recording_fetch_peak_rss_mb": peak,
        "recording_fetch_peak_mb_above_idle": peak - idle,
    }


# ----------------------------------------------------------------------------------------------------
# Entry point


def fault_spec(rate: float) -> str:
    """The emulators' ``--faults`` spec failing ``rate`` of every service's requests, kinds in equal parts."""
    each = rate / len(FAULT_KINDS)
    kinds = ",".join(f"{kind}={each:.6f}" for kind in FAULT_KINDS)
    return ";".join(f"{service}:{kinds}" for service in ("openai", "docintel", "acs"))


def incomplete_interviews(stack: LocalStack, candidate_ids: Sequence[str]) -> list[str]:
    """Return the candidates whose call the question flow ended early (``interview_incomplete``)."""
    cut_short: list[str] = []
    for candidate_id in candidate_ids:
        url = (
            f"{stack.api_url}/runtime/webhooks/durabletask/instances/{candidate_id}.interview"
            "?showHistory=true&showHistoryOutput=true"
        )
        status = get_json(url, stack.durable_api_headers(), timeout=30)
        for event in status.get("historyEvents") or status.get("history") or []:
            if event.get("Name") == "CallEnded" and "interview_incomplete" in json.dumps(event):
                cut_short.append(candidate_id)
                break
    return cut_short


def run_faults(work_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The ``--fault-rate`` phase: candidates at once while every service fails ``rate`` of its requests."""
    options = StackOptions(
        work_dir=work_dir / "faults",
        skip_timers_quiet_s=max(args.quiet_s, FAULT_QUIET_S),
        emulator_args=("--faults", fault_spec(args.fault_rate), "--seed", str(args.fault_seed)),
        extra_settings={"AZURE_OPENAI_MAX_RETRIES": str(args.openai_max_retries)},
    )
    count = args.fault_candidates
    with LocalStack(options) as stack:
        stack.seed_jobs()
        client = HireflowClient(stack.api_url, timeout=60)
        submitter = Submitter(client, work_dir / "fault-uploads")
        started = time.monotonic()
        ids = [submitter.submit() for _ in range(count)]
        finished_at, final = wait_all(client, ids, deadline_s=300 + 30 * count)
        wall = max(finished_at.values()) - started
        failed = not_as_expected(final)
        if failed:
            log(f"faults: not as expected: {failed}")
        cut_short = incomplete_interviews(stack, ids)
        if cut_short:
            log(f"faults: interviews cut short: {cut_short}")
        services = emulator_stats(stack)["services"]
    served = sum(int(service["served"]) for service in services.values())
    injected = sum(sum(int(n) for n in service["injected"].values()) for service in services.values())
    return {
        "fault_rate": args.fault_rate,
        "fault_candidates": count,
        "fault_wall_s": wall,
        "fault_interviewed": count - len(failed),
        "fault_failed_candidates": len(failed),
        "fault_incomplete_interviews": len(cut_short),
        "fault_requests_served": served,
        "fault_requests_injected": injected,
        "fault_injected_share": injected / max(1, served + injected),
        "fault_predicted_loss_share": candidate_failure_probability(
            args.fault_rate, openai_max_retries=args.openai_max_retries
        ),
    }


def build_parser() -> argparse.ArgumentParser:
    """Build the benchmark's argument parser."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", choices=sorted(SIZES), default="full")
    parser.add_argument("--candidates", type=int, default=None, help="phase 1 size (default from --sizes)")
    parser.add_argument("--overhead-candidates", type=int, default=None, help="phase 2 size")
    parser.add_argument("--quota-candidates", type=int, default=None, help="phase 3 size")
    parser.add_argument("--recording-mb", type=int, default=None, help="phase 4 recording size in MiB")
    parser.add_argument(
        "--openai-tpm",
        type=int,
        default=None,
        help="phase 3 token quota per rate window (default: derived from phase 1 so the quota binds)",
    )
    parser.add_argument(
        "--rate-window", type=float, default=None, help="seconds of the OpenAI rate window (default per size)"
    )
    parser.add_argument(
        "--openai-max-retries",
        type=int,
        default=10,
        help="AZURE_OPENAI_MAX_RETRIES for the app: the SDK then waits exactly what a 429's retry-after says",
    )
    parser.add_argument(
        "--quiet-s",
        type=float,
        default=0.0,
        help="devhost --skip-timers-quiet (phases 1-3): a fixed quiet period before each skip (default 0: "
        "devhost skips the moment nothing is in flight, asking the emulators' /admin/pending)",
    )
    parser.add_argument(
        "--no-quiescence",
        action="store_true",
        help="do not point devhost at the emulators' /admin/pending (only --quiet-s guards callbacks)",
    )
    parser.add_argument("--work-dir", type=Path, default=None, help="keep logs and data here")
    parser.add_argument(
        "--fault-rate",
        type=_rate,
        default=None,
        help="run only the fault phase: every emulated service fails this share of its requests (e.g. 0.2)",
    )
    parser.add_argument("--fault-candidates", type=int, default=20, help="candidates of the fault phase")
    parser.add_argument("--fault-seed", type=int, default=1, help="seed of the injected faults")
    return parser


def _rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from error
    if not 0.0 <= rate < 1.0:
        raise argparse.ArgumentTypeError(f"{rate} is not a share in [0, 1)")
    return rate


def main(argv: Sequence[str] | None = None) -> int:
    """Run every phase and print the figures, then one JSON line."""
    args = build_parser().parse_args(argv)
    if args.fault_rate is not None:
        return main_faults(args)
    sizes = SIZES[args.sizes]
    sizes = Sizes(
        candidates=args.candidates or sizes.candidates,
        overhead_candidates=args.overhead_candidates or sizes.overhead_candidates,
        quota_candidates=args.quota_candidates or sizes.quota_candidates,
        recording_mb=args.recording_mb or sizes.recording_mb,
        rate_window_s=args.rate_window or sizes.rate_window_s,
        requests_per_window=sizes.requests_per_window,
        recording_quiet_s=sizes.recording_quiet_s,
    )
    with tempfile.TemporaryDirectory(prefix="hireflow-bench-") as temporary:
        work_dir = args.work_dir or Path(temporary)
        work_dir.mkdir(parents=True, exist_ok=True)
        common: dict[str, Any] = {
            # Emulators answering at once: Document Intelligence advertises no wait between polls.
            "emulator_args": ("--rate-window", str(sizes.rate_window_s), "--docintel-retry-after", "0"),
            "extra_settings": {"AZURE_OPENAI_MAX_RETRIES": str(args.openai_max_retries)},
        }
        figures: dict[str, Any] = {"sizes": args.sizes}
        stack_options = StackOptions(
            work_dir=work_dir / "stack",
            skip_timers_quiet_s=args.quiet_s,
            quiescence=not args.no_quiescence,
            # Emulators answering at once: a call connects without ringing, its recording is announced
            # as soon as it ends (the emulators' time then is what they spend serving requests).
            ring_delay_s=0.0,
            recording_ready_delay_s=0.0,
            **common,
        )
        with LocalStack(stack_options) as stack:
            stack.seed_jobs()
            client = HireflowClient(stack.api_url, timeout=60)
            submitter = Submitter(client, work_dir / "uploads")
            log(f"phase 1: {sizes.candidates} candidates at once")
            usage_before = emulator_stats(stack)["openai_usage"][CHAT_DEPLOYMENT]
            figures.update(run_throughput(stack, submitter, sizes.candidates))
            usage = emulator_stats(stack)["openai_usage"][CHAT_DEPLOYMENT]
            tokens = usage["admitted_tokens"] - usage_before["admitted_tokens"]
            requests = max(1, usage["admitted_requests"] - usage_before["admitted_requests"])
            log(f"phase 2: {sizes.overhead_candidates} candidates one at a time")
            figures.update(run_overhead(stack, submitter, sizes.overhead_candidates))
            log(f"phase 3: {sizes.quota_candidates} candidates under a token quota")
            figures.update(
                run_quota(
                    stack,
                    submitter,
                    sizes.quota_candidates,
                    window_s=sizes.rate_window_s,
                    tokens_per_candidate=tokens / sizes.candidates,
                    tokens_per_request=tokens / requests,
                    unconstrained_wall_s=figures["wall_s"] * sizes.quota_candidates / sizes.candidates,
                    tokens_per_window=args.openai_tpm,
                    requests_per_window=sizes.requests_per_window,
                )
            )
        log(f"phase 4: fetching a recording of at least {sizes.recording_mb} MiB")
        figures.update(run_recording(work_dir, common, sizes))
    figures["settings"] = {
        "skip_timers_quiet_s": args.quiet_s,
        "quiescence": not args.no_quiescence,
        "recording_skip_timers_quiet_s": sizes.recording_quiet_s,
        "openai_max_retries": args.openai_max_retries,
        "rate_window_s": sizes.rate_window_s,
        "recording_mb": sizes.recording_mb,
    }
    print_table(figures)
    print(json.dumps({key: _rounded(value) for key, value in figures.items()}))
    return 0


def main_faults(args: argparse.Namespace) -> int:
    """Run the fault phase alone and print its figures, then one JSON line; exit 1 if a candidate was lost."""
    with tempfile.TemporaryDirectory(prefix="hireflow-bench-faults-") as temporary:
        work_dir = args.work_dir or Path(temporary)
        work_dir.mkdir(parents=True, exist_ok=True)
        log(f"faults: {args.fault_candidates} candidates at once, {args.fault_rate:.0%} of requests failing")
        figures = run_faults(work_dir, args)
    figures["settings"] = {
        "skip_timers_quiet_s": max(args.quiet_s, FAULT_QUIET_S),
        "openai_max_retries": args.openai_max_retries,
        "fault_seed": args.fault_seed,
        "fault_kinds": list(FAULT_KINDS),
    }
    for key in FAULT_FIGURE_KEYS:
        value = figures[key]
        print(f"{key:<40} {value:.6g}" if isinstance(value, float) else f"{key:<40} {value}")
    print(json.dumps({key: _rounded(value) for key, value in figures.items()}))
    lost = figures["fault_failed_candidates"] + figures["fault_incomplete_interviews"]
    return 1 if lost else 0


def _rounded(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def print_table(figures: dict[str, Any]) -> None:
    """The figures for a person, with the issue's goals."""
    goals: dict[str, Callable[[float], bool]] = {
        "quota_utilization": lambda v: v >= 0.95,
        "quota_refused_share": lambda v: v <= 0.01,
        "quota_failed_candidates": lambda v: v == 0,
        "failed_candidates": lambda v: v == 0,
        "recording_fetch_peak_mb_above_idle": lambda v: v < 150,
        "orchestration_overhead_p95_s": lambda v: v < 0.25,
    }
    for key in FIGURE_KEYS:
        value = figures.get(key)
        verdict = ""
        if key in goals and isinstance(value, int | float):
            verdict = "  (goal met)" if goals[key](value) else "  (goal MISSED)"
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{key:<40} {shown}{verdict}")


if __name__ == "__main__":
    sys.exit(main())
