"""OpenTelemetry: a span per activity and per external call, each carrying the orchestration's instance id.

:func:`configure_telemetry` runs once per process (``run_activity`` calls it before the first activity, so
indexing never depends on it) and picks the export from the settings:

- a tracer provider is already installed: on Azure the Python worker installs one when
  ``PYTHON_ENABLE_OPENTELEMETRY`` is true (it configures azure-monitor-opentelemetry and joins each
  invocation to the host's trace); hireflow only adds its processors to it;
- ``APPLICATIONINSIGHTS_CONNECTION_STRING`` set: azure-monitor-opentelemetry, authenticated as
  ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING`` says (Entra ID on Azure);
- ``HIREFLOW_TRACE_FILE`` set: spans as JSON lines in that file (``-`` for stderr), for local runs and tests;
- neither: no export (spans are not recorded at all).

Every Azure SDK call (Blob, Document Intelligence, ACS) becomes a span through azure-core's OpenTelemetry
tracing; the OpenAI client speaks ``httpx2``, which no OpenTelemetry instrumentation knows, so its transport
is instrumented here the way OpenTelemetry's own httpx instrumentation does it (wrapping ``handle_request``).
:class:`InstanceIdSpanProcessor` stamps ``hireflow.instance_id`` on every span started inside
:func:`activity_span`, whoever starts it. Spans carry ids, names of operations, hosts and status codes only:
never a candidate's name, email or phone (no request bodies, no query strings).
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

from shared.logging import get_logger
from shared.settings import Settings, get_settings

__all__ = [
    "ACTIVITY_ATTRIBUTE",
    "INSTANCE_ID_ATTRIBUTE",
    "OUTCOME_ATTRIBUTE",
    "InstanceIdSpanProcessor",
    "JsonLinesSpanExporter",
    "activity_span",
    "configure_telemetry",
    "ensure_telemetry",
    "reset_telemetry",
]

INSTANCE_ID_ATTRIBUTE = "hireflow.instance_id"
ACTIVITY_ATTRIBUTE = "hireflow.activity"
OUTCOME_ATTRIBUTE = "hireflow.outcome"
SERVICE_NAME = "hireflow"
TRACER_NAME = "hireflow"

LOGGER = get_logger("hireflow.telemetry")

# The instance id travels in the OpenTelemetry context (not a plain ContextVar) so it follows the context
# wherever OpenTelemetry carries it, e.g. into azure-core's long-running-operation poller threads.
_INSTANCE_ID_KEY = otel_context.create_key("hireflow.instance_id")

_lock = threading.Lock()
_configured_mode: str | None = None
# Providers that already carry hireflow's processors (configure_telemetry may run again after a reset).
_stamped_providers: set[int] = set()
_exporters: list[JsonLinesSpanExporter] = []
_httpx2_original: Any = None


class InstanceIdSpanProcessor(SpanProcessor):
    """Stamp the current activity's instance id on every span that starts inside it."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        """Copy the instance id from the (parent) context onto ``span``."""
        instance_id = otel_context.get_value(_INSTANCE_ID_KEY, parent_context)
        if isinstance(instance_id, str) and instance_id:
            span.set_attribute(INSTANCE_ID_ATTRIBUTE, instance_id)

    def on_end(self, span: ReadableSpan) -> None:
        """Nothing to do when a span ends."""

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered."""
        return True


class JsonLinesSpanExporter(SpanExporter):
    """Write each finished span as one JSON object per line (local runs and tests read them back)."""

    def __init__(self, target: str) -> None:
        self._target = target
        self._write_lock = threading.Lock()
        self._stream: IO[str] | None = None
        self._closed = False

    def _open(self) -> IO[str]:
        if self._stream is None:
            if self._target == "-":
                self._stream = sys.stderr
            else:
                path = Path(self._target)
                path.parent.mkdir(parents=True, exist_ok=True)
                self._stream = path.open("a", encoding="utf-8")
        return self._stream

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Append ``spans`` to the file, flushed so a reader sees them at once."""
        lines = [json.dumps(span_to_json(span), default=str) for span in spans]
        with self._write_lock:
            if self._closed:
                # Shut down (a reset in tests): the provider keeps this processor, so drop what comes late.
                return SpanExportResult.SUCCESS
            stream = self._open()
            for line in lines:
                stream.write(line + "\n")
            stream.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Close the file (never stderr)."""
        with self._write_lock:
            if self._stream is not None and self._stream is not sys.stderr:
                self._stream.close()
            self._stream = None
            self._closed = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Every export is already flushed."""
        return True


def span_to_json(span: ReadableSpan) -> dict[str, Any]:
    """Return the JSON form of a finished span: hex ids, times in ns since the epoch, its attributes."""
    span_context = span.get_span_context()
    parent = span.parent
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{span_context.trace_id:032x}" if span_context else None,
        "span_id": f"{span_context.span_id:016x}" if span_context else None,
        "parent_span_id": f"{parent.span_id:016x}" if parent else None,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "status": span.status.status_code.name,
        "status_description": span.status.description,
        "attributes": dict(span.attributes or {}),
        "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
    }


def configure_telemetry(settings: Settings | None = None) -> str:
    """Set up tracing for this process once; return the mode chosen (see the module docstring)."""
    global _configured_mode
    with _lock:
        if _configured_mode is not None:
            return _configured_mode
        settings = settings if settings is not None else get_settings()
        provider = trace.get_tracer_provider()
        connection_string = settings.applicationinsights_connection_string or None
        trace_file = settings.trace_file or None
        if isinstance(provider, TracerProvider):
            _add_processors(provider, trace_file)
            mode = "existing-provider"
        elif connection_string:
            from azure.monitor.opentelemetry import configure_azure_monitor

            # The distro also turns on azure-core's OpenTelemetry tracing (its azure_sdk instrumentation).
            configure_azure_monitor(
                connection_string=connection_string,
                span_processors=[InstanceIdSpanProcessor()],
                resource=Resource.create({"service.name": SERVICE_NAME}),
            )
            installed = trace.get_tracer_provider()
            if isinstance(installed, TracerProvider):
                _stamped_providers.add(id(installed))
            mode = "azure-monitor"
        elif trace_file:
            provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
            trace.set_tracer_provider(provider)
            _add_processors(provider, trace_file)
            mode = "file"
        else:
            _configured_mode = "off"
            return _configured_mode
        _enable_azure_sdk_tracing()
        _instrument_httpx2()
        _configured_mode = mode
        return mode


def ensure_telemetry() -> None:
    """Configure telemetry if not done yet; a failure is logged and never fails the caller."""
    global _configured_mode
    if _configured_mode is not None:
        return
    try:
        configure_telemetry()
    except Exception as error:
        # Telemetry must never take the pipeline down; the settings error (if any) surfaces in the activity.
        LOGGER.warning("telemetry is off: %s", type(error).__name__)
        with _lock:
            _configured_mode = "off"


def reset_telemetry() -> None:
    """Forget the configuration so the next call reads the settings again (tests); file exporters are closed.

    A tracer provider cannot be replaced once installed (OpenTelemetry refuses it), so a later configuration
    adds its processors to the provider already installed.
    """
    global _configured_mode
    with _lock:
        _configured_mode = None
        for exporter in _exporters:
            exporter.shutdown()
        _exporters.clear()


def _add_processors(provider: TracerProvider, trace_file: str | None) -> None:
    if id(provider) not in _stamped_providers:
        provider.add_span_processor(InstanceIdSpanProcessor())
        _stamped_providers.add(id(provider))
    if trace_file:
        exporter = JsonLinesSpanExporter(trace_file)
        _exporters.append(exporter)
        # Simple (synchronous) export: local runs are small, and a reader sees a span as soon as it ends.
        provider.add_span_processor(SimpleSpanProcessor(exporter))


def _enable_azure_sdk_tracing() -> None:
    from azure.core.settings import settings as azure_settings

    azure_settings.tracing_implementation = "opentelemetry"


def _instrument_httpx2() -> None:
    """Open a client span around every request the OpenAI client (httpx2) sends."""
    global _httpx2_original
    try:
        import httpx2
    except ImportError:
        return
    if _httpx2_original is not None:
        return
    original = httpx2.HTTPTransport.handle_request
    _httpx2_original = original
    tracer = trace.get_tracer(TRACER_NAME)

    def handle_request(self: Any, request: Any) -> Any:
        url = request.url
        # Method, host and path only: the query string and the body stay out of telemetry.
        attributes = {
            "http.request.method": request.method,
            "server.address": url.host,
            "server.port": url.port or (443 if url.scheme == "https" else 80),
            "url.scheme": url.scheme,
            "url.path": url.path,
        }
        with tracer.start_as_current_span(
            f"{request.method} {url.path}", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            response = original(self, request)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 400:
                span.set_status(Status(StatusCode.ERROR, f"HTTP {response.status_code}"))
            return response

    httpx2.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]


@contextlib.contextmanager
def activity_span(name: str, instance_id: str | None) -> Iterator[trace.Span]:
    """Open the span of one activity execution; spans started inside it carry ``instance_id``."""
    ctx = otel_context.get_current()
    if instance_id:
        ctx = otel_context.set_value(_INSTANCE_ID_KEY, instance_id, ctx)
    token = otel_context.attach(ctx)
    try:
        attributes: dict[str, str] = {ACTIVITY_ATTRIBUTE: name}
        if instance_id:
            attributes[INSTANCE_ID_ATTRIBUTE] = instance_id
        tracer = trace.get_tracer(TRACER_NAME)
        with tracer.start_as_current_span(
            f"activity {name}",
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            # An exception's text may quote a document; the caller records the outcome as an error code only.
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            yield span
    finally:
        otel_context.detach(token)
