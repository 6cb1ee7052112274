"""One JSON log line and the Prometheus metrics of every call, from one interceptor."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from prometheus_client import Counter, Gauge, Histogram

from dnc_common.metrics import LATENCY_BUCKETS
from dnc_common.tracing import continued_trace, current_trace_id
from dnc_common.wire import REQUEST_ID_KEY

from .errors import InvalidArgument, abort
from .handlers import Behaviour, ServerInterceptor, rewrap, stream_of

logger = logging.getLogger("dnc_service.access")

REQUESTS = Counter("dnc_grpc_requests", "gRPC calls handled", ["method", "code"])
LATENCY = Histogram(
    "dnc_grpc_request_duration_seconds",
    "gRPC call latency",
    ["method"],
    buckets=LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge("dnc_grpc_in_flight_requests", "gRPC calls being handled")
DATABASE_ERRORS = Counter("dnc_database_errors", "Database failures by kind", ["kind"])

# Fields the handler adds to its call's log line (organization, page, ...).
_call_fields: ContextVar[dict[str, Any] | None] = ContextVar("call_fields", default=None)
# Probes call health often; their lines would drown the ones that matter.
_QUIET_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")


def annotate(**fields: Any) -> None:
    """Add fields to the current call's log line (no-op outside a call)."""
    current = _call_fields.get()
    if current is not None:
        current.update(fields)


StreamBehaviour = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Any]]


class ObservabilityInterceptor(ServerInterceptor):
    """Counts, times and logs unary and server-streaming calls (ExportDnc); a request message
    that does not decode is INVALID_ARGUMENT with an access line, never UNKNOWN with a traceback.

    Health Watch streams (open as long as a watcher lives: they would hold the in-flight gauge
    up) and client-streaming or bidirectional calls (reflection) pass through untouched.
    """

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method: str = handler_call_details.method
        return rewrap(
            handler,
            lambda behaviour: _observed(method, behaviour),
            # Health Watch streams pass through (see above).
            None if method.startswith(_QUIET_PREFIXES) else lambda b: _observed_stream(method, b),
            _tolerant(handler.request_deserializer),
        )


# What the tolerant deserializer returns for bytes that are not the request message.
MALFORMED = object()
MALFORMED_MESSAGE = "malformed request message"


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """grpc would answer UNKNOWN with the exception's text and log a traceback: instead,
    hand the behaviour a marker it refuses with INVALID_ARGUMENT."""
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError:
            return MALFORMED

    return deserialize


class _Observation:
    """One call's fields, clock and outcome: the metrics and the access-log line at its end."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.fields: dict[str, Any] = {}
        _call_fields.set(self.fields)
        self.started = time.perf_counter()
        IN_FLIGHT.inc()

    def finish(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        elapsed = time.perf_counter() - self.started
        IN_FLIGHT.dec()
        code = context.code() or grpc.StatusCode.OK
        if not isinstance(code, grpc.StatusCode):
            code = grpc.StatusCode.UNKNOWN
        REQUESTS.labels(self.method, code.name).inc()
        LATENCY.labels(self.method).observe(elapsed)
        logger.log(
            logging.DEBUG if self.method.startswith(_QUIET_PREFIXES) else logging.INFO,
            "%s %s",
            self.method,
            code.name,
            extra={
                "method": self.method,
                "code": code.name,
                "latency_ms": round(elapsed * 1000, 3),
                "request_id": request_id(context),
                "trace_id": current_trace_id(),
                **self.fields,
            },
        )


def _observed(method: str, behaviour: Behaviour) -> Behaviour:
    async def observed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        with continued_trace(context.invocation_metadata()):
            observation = _Observation(method)
            try:
                if request is MALFORMED:
                    await abort(context, InvalidArgument(MALFORMED_MESSAGE))
                return await behaviour(request, context)
            finally:
                observation.finish(context)

    return observed


def _observed_stream(method: str, behaviour: Behaviour) -> StreamBehaviour:
    async def observed(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        with continued_trace(context.invocation_metadata()):
            observation = _Observation(method)
            try:
                if request is MALFORMED:
                    await abort(context, InvalidArgument(MALFORMED_MESSAGE))
                async for response in stream_of(behaviour, request, context):
                    yield response
            finally:
                observation.finish(context)

    return observed


def request_id(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    """The caller's request id (metadata x-request-id), bounded in length; None when absent."""
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_KEY and isinstance(value, str):
            return value[:128]
    return None
