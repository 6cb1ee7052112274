"""One JSON log line and the Prometheus metrics of every call, unary or streamed, from one place."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

import grpc
from prometheus_client import Counter, Gauge, Histogram

from dnc_common.metrics import LATENCY_BUCKETS
from dnc_common.wire import REQUEST_ID_KEY

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


Behaviour = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


if TYPE_CHECKING:
    _Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:  # not subscriptable at run time
    _Interceptor = grpc.aio.ServerInterceptor


class ObservabilityInterceptor(_Interceptor):
    """Counts, times and logs unary calls and server-streaming calls (ExportDnc).

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
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _observed(method, cast(Behaviour, handler.unary_unary)),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None and not method.startswith(_QUIET_PREFIXES):
            return grpc.unary_stream_rpc_method_handler(
                _observed(method, _writing(cast(StreamBehaviour, handler.unary_stream))),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


StreamBehaviour = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Any]


def _writing(behaviour: StreamBehaviour) -> Behaviour:
    """A server-streaming behaviour as one awaitable: an async generator's responses are
    written as they come; a coroutine writes its own (`context.write`)."""

    async def streamed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        result = behaviour(request, context)
        if hasattr(result, "__aiter__"):
            async for response in result:
                await context.write(response)
        else:
            await result

    return streamed


def _observed(method: str, behaviour: Behaviour) -> Behaviour:
    quiet = method.startswith(_QUIET_PREFIXES)

    async def observed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        fields: dict[str, Any] = {}
        _call_fields.set(fields)
        started = time.perf_counter()
        IN_FLIGHT.inc()
        try:
            return await behaviour(request, context)
        finally:
            elapsed = time.perf_counter() - started
            IN_FLIGHT.dec()
            code = context.code() or grpc.StatusCode.OK
            if not isinstance(code, grpc.StatusCode):
                code = grpc.StatusCode.UNKNOWN
            REQUESTS.labels(method, code.name).inc()
            LATENCY.labels(method).observe(elapsed)
            logger.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s",
                method,
                code.name,
                extra={
                    "method": method,
                    "code": code.name,
                    "latency_ms": round(elapsed * 1000, 3),
                    "request_id": request_id(context),
                    **fields,
                },
            )

    return observed


def request_id(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    """The caller's request id (metadata x-request-id), bounded in length; None when absent."""
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_KEY and isinstance(value, str):
            return value[:128]
    return None
