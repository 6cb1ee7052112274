"""OpenTelemetry for one process: W3C trace context always, spans exported only when asked.

Every process continues an incoming `traceparent` (or starts a trace) and passes it on, so
both processes' access lines carry the same `trace_id`. Spans are recorded and exported only
when an exporter is configured through the standard OTEL_* variables (or DNC_TRACE_FILE).
Without one, nothing is instrumented: the gateway starts or continues the trace itself
(gateway/trace_context.py) and the gRPC hop is carried by `outgoing_metadata` and
`continued_trace`, which cost far less than the instrumentations' per-request spans.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from opentelemetry import context, propagate, trace
from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
from opentelemetry.instrumentation.grpc import (
    GrpcAioInstrumentorClient,
    GrpcAioInstrumentorServer,
    filters,
)
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

from .env import Env, SettingsError

EXPORTER_ENTRY_POINTS = "opentelemetry_traces_exporter"
# OTEL_EXPORTER_OTLP_PROTOCOL -> the exporter entry point "otlp" stands for (the SDK's choice).
_OTLP_BY_PROTOCOL = {"grpc": "otlp_proto_grpc", "http/protobuf": "otlp_proto_http"}

# Probes and tooling: a trace per health check would drown the ones that matter.
_UNTRACED_GRPC = filters.negate(
    filters.any_of(filters.health_check(), filters.service_prefix("grpc.reflection"))
)


def service_instrumentors() -> list[BaseInstrumentor]:
    """The gRPC service: its grpc.aio server and its MongoDB commands."""
    server = GrpcAioInstrumentorServer(filter_=_UNTRACED_GRPC)  # type: ignore[no-untyped-call]
    return [server, PymongoInstrumentor()]


def gateway_instrumentors() -> list[BaseInstrumentor]:
    """The REST gateway: its aiohttp server and its grpc.aio channel to the service."""
    channel = GrpcAioInstrumentorClient(filter_=_UNTRACED_GRPC)  # type: ignore[no-untyped-call]
    return [AioHttpServerInstrumentor(), channel]


@dataclass(frozen=True)
class TraceSettings:
    """Which exporters run: OTEL_TRACES_EXPORTER, else OTLP when an OTLP endpoint is set.

    The exporters, sampler (OTEL_TRACES_SAMPLER), batching (OTEL_BSP_*) and resource
    (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) read the rest of OTEL_* themselves.
    """

    exporters: tuple[str, ...] = ()
    # Spans as JSON lines appended to this file (debugging and tests).
    trace_file: Path | None = None
    disabled: bool = False

    @property
    def exporting(self) -> bool:
        return bool(self.exporters or self.trace_file)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TraceSettings:
        env = Env(os.environ if environ is None else environ)
        trace_file = env.optional("DNC_TRACE_FILE")
        return cls(
            exporters=_exporter_names(env),
            trace_file=Path(trace_file) if trace_file else None,
            disabled=env.boolean("OTEL_SDK_DISABLED", False),
        )


def _exporter_names(env: Env) -> tuple[str, ...]:
    """OTEL_TRACES_EXPORTER's entry-point names ("otlp" resolved by the OTLP protocol)."""
    names = env.optional("OTEL_TRACES_EXPORTER")
    if names is None:
        endpoint = env.optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.optional(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        names = "otlp" if endpoint else "none"
    protocol = env.optional("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.text(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"
    )
    exporters = []
    for name in (part.strip().lower() for part in names.split(",")):
        if name not in ("", "none"):
            exporters.append(_exporter_name(name, protocol))
    return tuple(exporters)


def _exporter_name(name: str, protocol: str) -> str:
    """The installed span exporter `name` stands for; SettingsError when there is none."""
    if name == "otlp":
        if protocol not in _OTLP_BY_PROTOCOL:
            raise SettingsError(
                f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: expected grpc or http/protobuf"
            )
        name = _OTLP_BY_PROTOCOL[protocol]
    if not entry_points(group=EXPORTER_ENTRY_POINTS, name=name):
        raise SettingsError(f"OTEL_TRACES_EXPORTER: no span exporter named {name!r}")
    return name


_configured: TracerProvider | None = None
# Whether the gRPC instrumentations carry the trace context (only while exporting).
_grpc_instrumented = False


def configure_tracing(
    service_name: str,
    instrumentors: Iterable[BaseInstrumentor],
    settings: TraceSettings | None = None,
) -> None:
    """Install the process's tracer provider and instrumentations, once per process.

    Call it before creating the servers, channels and database clients it instruments; they
    are instrumented only while exporting (nothing would read their spans otherwise).
    """
    global _configured, _grpc_instrumented
    settings = TraceSettings.from_env() if settings is None else settings
    if _configured is not None or settings.disabled:
        return
    if settings.exporting:
        provider = TracerProvider(resource=_resource(service_name))  # OTEL_TRACES_SAMPLER
        for exporter in _exporters(settings):
            provider.add_span_processor(BatchSpanProcessor(exporter))
        if settings.trace_file is not None:
            provider.add_span_processor(SimpleSpanProcessor(_file_exporter(settings.trace_file)))
    else:
        # Nothing would read recorded spans: propagate ids only, recording just what a caller
        # marked sampled (so its flag passes on unchanged).
        provider = TracerProvider(resource=_resource(service_name), sampler=ParentBased(ALWAYS_OFF))
    trace.set_tracer_provider(provider)
    if settings.exporting:
        for instrumentor in instrumentors:
            instrumentor.instrument(tracer_provider=provider)
    _grpc_instrumented = settings.exporting
    _configured = provider


def _resource(service_name: str) -> Resource:
    """OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the process's own name."""
    detected = Resource.create()
    if str(detected.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        return detected.merge(Resource({SERVICE_NAME: service_name}))
    return detected


def _exporters(settings: TraceSettings) -> Iterator[SpanExporter]:
    for name in settings.exporters:
        found = next(iter(entry_points(group=EXPORTER_ENTRY_POINTS, name=name)))
        exporter_class: Callable[[], SpanExporter] = found.load()
        yield exporter_class()


def _file_exporter(path: Path) -> SpanExporter:
    out = path.open("a", buffering=1, encoding="utf-8")  # kept open for the process's life
    return ConsoleSpanExporter(out=out, formatter=_json_line)


def _json_line(span: ReadableSpan) -> str:
    return f"{span.to_json(indent=None)}\n"


def outgoing_metadata() -> tuple[tuple[str, str], ...]:
    """The current trace context as gRPC metadata, unless the channel's instrumentation adds it."""
    if _configured is None or _grpc_instrumented:
        return ()
    carrier: dict[str, str] = {}
    propagate.inject(carrier)  # OTEL_PROPAGATORS: W3C traceparent/tracestate and baggage
    return tuple(carrier.items())


@contextmanager
def continued_trace(metadata: Iterable[tuple[str, str | bytes]] | None) -> Iterator[None]:
    """Run a gRPC call in its caller's trace, unless the server's instrumentation does."""
    if _configured is None or _grpc_instrumented:
        yield
        return
    carrier = {key: value for key, value in metadata or () if isinstance(value, str)}
    token = context.attach(propagate.extract(carrier))
    try:
        yield
    finally:
        context.detach(token)


def current_trace_id() -> str | None:
    """The current trace's id as 32 lowercase hex, or None outside a trace."""
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None


@contextmanager
def untraced() -> Iterator[None]:
    """Background work (health pings) that should not start traces of its own."""
    with suppress_instrumentation():
        yield
