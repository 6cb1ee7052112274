"""One JSON log line and the Prometheus metrics of every call, from one interceptor."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from prometheus_client import Counter, Gauge, Histogram

from dnc_common.metrics import LATENCY_BUCKETS
from dnc_common.tracing import continued_trace, current_trace_id

from . import call
from .errors import InvalidArgument, abort
from .handlers import Behaviour, ServerInterceptor, rewrap, stream_of
from .validation.decoding import MALFORMED, MALFORMED_MESSAGE, tolerant

logger = logging.getLogger("dnc_service.access")

REQUESTS = Counter("dnc_grpc_requests", "gRPC calls handled", ["method", "code"])
LATENCY = Histogram(
    "dnc_grpc_request_duration_seconds",
    "gRPC call latency",
    ["method"],
    buckets=LATENCY_BUCKETS,
)
IN_FLIGHT = Gauge("dnc_grpc_in_flight_requests", "gRPC calls being handled")

# Probes call health often; their lines would drown the ones that matter.
_QUIET_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")


StreamBehaviour = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Any]]


class ObservabilityInterceptor(ServerInterceptor):
    """Counts, times and logs unary and server-streaming calls (ExportDnc); a request message
    that does not decode is INVALID_ARGUMENT with an access line, never UNKNOWN with a traceback.

    Health Watch streams (open as long as a watcher lives: they would hold the in-flight gauge
    up) and client-streaming or bidirectional calls (reflection) pass through untouched.
    Each method's wrapped handler is built once and reused (the server's handlers never change).
    """

    def __init__(self) -> None:
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler[Any, Any], Any]] = {}

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
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            wrapped: grpc.RpcMethodHandler[Any, Any] = cached[1]
            return wrapped
        wrapped = rewrap(
            handler,
            lambda behaviour: _observed(method, behaviour),
            # Health Watch streams pass through (see above).
            None if method.startswith(_QUIET_PREFIXES) else lambda b: _observed_stream(method, b),
            tolerant(handler.request_deserializer),
        )
        self._wrapped[method] = (handler, wrapped)
        return wrapped


class _Observation:
    """One call's fields, clock and outcome: the metrics and the access-log line at its end."""

    def __init__(self, method: str, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        self.method = method
        self.call = call.begin(context.invocation_metadata())
        self.started = time.perf_counter()
        IN_FLIGHT.inc()

    def finish(self, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        elapsed = time.perf_counter() - self.started
        IN_FLIGHT.dec()
        code = context.code() or grpc.StatusCode.OK
        if not isinstance(code, grpc.StatusCode):
            code = grpc.StatusCode.UNKNOWN
        _requests(self.method, code.name).inc()
        _latency(self.method).observe(elapsed)
        level = logging.DEBUG if self.method.startswith(_QUIET_PREFIXES) else logging.INFO
        if not logger.isEnabledFor(level):  # the fields below cost more than the check
            return
        logger.log(
            level,
            "%s %s",
            self.method,
            code.name,
            extra={
                "method": self.method,
                "code": code.name,
                "latency_ms": round(elapsed * 1000, 3),
                "request_id": self.call.request_id,
                "trace_id": current_trace_id(),
                **self.call.fields,
            },
        )


@functools.cache
def _requests(method: str, code: str) -> Counter:
    """The counter child of one method and code (labels() takes a lock and a lookup a call)."""
    return REQUESTS.labels(method, code)


@functools.cache
def _latency(method: str) -> Histogram:
    return LATENCY.labels(method)


def _observed(method: str, behaviour: Behaviour) -> Behaviour:
    async def observed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        with continued_trace(context.invocation_metadata()):
            observation = _Observation(method, context)
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
            observation = _Observation(method, context)
            try:
                if request is MALFORMED:
                    await abort(context, InvalidArgument(MALFORMED_MESSAGE))
                async for response in stream_of(behaviour, request, context):
                    yield response
            finally:
                observation.finish(context)

    return observed
