"""shared.telemetry: the instance id on each span inside an activity, outcomes as codes, one set-up a process.

The mode tests run in a fresh interpreter each: OpenTelemetry allows one tracer provider per process, and the
point is what a new Functions worker process does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

from activities._common import run_activity
from shared.errors import ErrorCode, TransientError
from shared.models import ActivityOutput
from shared.settings import Settings
from shared.telemetry import (
    ACTIVITY_ATTRIBUTE,
    INSTANCE_ID_ATTRIBUTE,
    OUTCOME_ATTRIBUTE,
    InstanceIdSpanProcessor,
    activity_span,
    configure_telemetry,
    reset_telemetry,
)

REPO = Path(__file__).resolve().parents[3]


class _Input(BaseModel):
    instance_id: str
    text: str


class _Output(ActivityOutput):
    length: int = 0


@pytest.fixture
def exported(tmp_path: Path) -> Iterator[InMemorySpanExporter]:
    """This process's provider (installed once, from a trace file) with an in-memory exporter beside it."""
    reset_telemetry()
    configure_telemetry(Settings(profile="local", trace_file=str(tmp_path / "spans.jsonl")))
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    yield exporter
    # The provider keeps its processors; a shut-down exporter drops whatever comes later.
    processor.shutdown()
    reset_telemetry()


def test_spans_inside_an_activity_carry_its_instance_id_and_spans_outside_do_not(
    exported: InMemorySpanExporter,
) -> None:
    tracer = trace.get_tracer("test")
    with (
        activity_span("extract_resume_text", "job.abc"),
        tracer.start_as_current_span("BlobClient.download_blob"),
        tracer.start_as_current_span("GET"),
    ):
        pass
    with tracer.start_as_current_span("outside"):
        pass
    spans = {span.name: span for span in exported.get_finished_spans()}
    assert spans["activity extract_resume_text"].attributes[ACTIVITY_ATTRIBUTE] == "extract_resume_text"
    for name in ("activity extract_resume_text", "BlobClient.download_blob", "GET"):
        assert spans[name].attributes[INSTANCE_ID_ATTRIBUTE] == "job.abc", name
    assert INSTANCE_ID_ATTRIBUTE not in (spans["outside"].attributes or {})


def test_run_activity_records_the_outcome_as_a_code_never_the_message(exported: InMemorySpanExporter) -> None:
    def ok(data: _Input) -> _Output:
        return _Output(length=len(data.text))

    def throttled(data: _Input) -> _Output:
        raise TransientError(ErrorCode.RATE_LIMITED, f"throttled while reading {data.text}")

    payload = {"instance_id": "job.1", "text": "Ada Lindqvist, ada.lindqvist@example.com"}
    assert run_activity("measure", payload, _Input, _Output, ok)["length"] == len(payload["text"])
    with pytest.raises(TransientError):
        run_activity("measure", payload, _Input, _Output, throttled)
    run_activity("measure", {"instance_id": "job.1"}, _Input, _Output, ok)
    outcomes = [
        (span.attributes[OUTCOME_ATTRIBUTE], span.status.status_code.name, span.status.description)
        for span in exported.get_finished_spans()
        if span.name == "activity measure"
    ]
    assert outcomes == [
        ("ok", "UNSET", None),
        ("transient:rate_limited", "ERROR", "transient:rate_limited"),
        ("failure:invalid_input", "ERROR", "failure:invalid_input"),
    ]
    for span in exported.get_finished_spans():
        assert not span.events, "no exception event: its message may quote personal data"
        assert "Lindqvist" not in json.dumps(dict(span.attributes or {}))


def _fresh_process(*parts: str, **env: str) -> dict[str, object]:
    script = "".join(textwrap.dedent(part) for part in parts)
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), **env},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def test_nothing_configured_means_no_export_and_the_app_still_indexes() -> None:
    result = _fresh_process(
        """
        import json
        from opentelemetry import trace
        from shared.settings import Settings
        from shared.telemetry import configure_telemetry
        import function_app
        functions = len(function_app.app.get_functions())
        mode = configure_telemetry(Settings(profile="local"))
        print(json.dumps({"mode": mode, "functions": functions,
                          "provider": type(trace.get_tracer_provider()).__name__}))
        """
    )
    assert result["mode"] == "off"
    assert result["provider"] == "ProxyTracerProvider"
    assert isinstance(result["functions"], int)
    assert result["functions"] > 20


_STAMPED_SPAN = """
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from shared.telemetry import activity_span
    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    with activity_span("score_transcript", "job.xyz"):
        with trace.get_tracer("t").start_as_current_span("POST"):
            pass
    stamped = sorted(s.name for s in exporter.get_finished_spans()
                     if s.attributes.get("hireflow.instance_id") == "job.xyz")
    from azure.core.settings import settings as azure_settings
    sdk_tracing = azure_settings.tracing_implementation() is not None
"""


def test_a_provider_the_worker_installed_is_reused_not_replaced() -> None:
    # With PYTHON_ENABLE_OPENTELEMETRY the Python worker configures Azure Monitor before any function runs.
    result = _fresh_process(
        """
        import json
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        worker_provider = TracerProvider()
        trace.set_tracer_provider(worker_provider)
        from shared.settings import Settings
        from shared.telemetry import configure_telemetry
        mode = configure_telemetry(Settings(
            profile="local",
            applicationinsights_connection_string="InstrumentationKey=00000000-0000-0000-0000-000000000000",
        ))
        """,
        _STAMPED_SPAN,
        """
        print(json.dumps({"mode": mode, "same": trace.get_tracer_provider() is worker_provider,
                          "stamped": stamped, "sdk_tracing": sdk_tracing}))
        """,
    )
    assert result == {
        "mode": "existing-provider",
        "same": True,
        "stamped": ["POST", "activity score_transcript"],
        "sdk_tracing": True,
    }


def test_a_connection_string_alone_configures_azure_monitor_with_the_processor() -> None:
    result = _fresh_process(
        """
        import json
        from opentelemetry import trace
        from shared.settings import Settings
        from shared.telemetry import configure_telemetry
        mode = configure_telemetry(Settings(
            profile="local",
            applicationinsights_connection_string=(
                "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
                "IngestionEndpoint=http://127.0.0.1:9/"
            ),
        ))
        """,
        _STAMPED_SPAN,
        """
        print(json.dumps({"mode": mode, "provider": type(trace.get_tracer_provider()).__name__,
                          "stamped": stamped, "sdk_tracing": sdk_tracing}))
        """,
        # No telemetry about the telemetry, and no retry storage: the ingestion endpoint here is unreachable.
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",
        # The distro samples 5 traces a second by default, ramping up from none: sample everything here.
        OTEL_TRACES_SAMPLER="microsoft.fixed_percentage",
        OTEL_TRACES_SAMPLER_ARG="1.0",
        TMPDIR="/tmp",
    )
    assert result == {
        "mode": "azure-monitor",
        "provider": "TracerProvider",
        "stamped": ["POST", "activity score_transcript"],
        "sdk_tracing": True,
    }


def test_instance_id_processor_leaves_spans_without_an_activity_alone() -> None:
    provider = TracerProvider()
    provider.add_span_processor(InstanceIdSpanProcessor())
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("plain"):
        pass
    [span] = exporter.get_finished_spans()
    assert INSTANCE_ID_ATTRIBUTE not in (span.attributes or {})


def test_host_json_turns_on_opentelemetry_and_durable_distributed_tracing_v2() -> None:
    from devhost.host_config import load_host_config

    host = json.loads((REPO / "host.json").read_text(encoding="utf-8"))
    assert host["telemetryMode"] == "OpenTelemetry"
    # The Durable extension binds TraceOptions case-insensitively: DistributedTracingEnabled, Version = V2.
    tracing = host["extensions"]["durableTask"]["tracing"]
    assert tracing["distributedTracingEnabled"] is True
    assert tracing["version"] == "V2"
    assert tracing["traceInputsAndOutputs"] is False, "inputs carry candidates' contact details"
    load_host_config(REPO)


def test_settings_telemetry_cannot_read_never_fail_the_activity(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.settings import reset_settings

    monkeypatch.setenv("BUSINESS_HOURS_START", "18")
    monkeypatch.setenv("BUSINESS_HOURS_END", "9")
    reset_settings()
    reset_telemetry()
    try:
        result = run_activity(
            "measure",
            {"instance_id": "job.2", "text": "abc"},
            _Input,
            _Output,
            lambda data: _Output(length=len(data.text)),
        )
        assert result["length"] == 3
        # Configured once, as off: the next activity does not try (and log) again.
        assert configure_telemetry() == "off"
    finally:
        monkeypatch.undo()
        reset_settings()
        reset_telemetry()
