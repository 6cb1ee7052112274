"""The aiohttp application: descriptor routes, middlewares, one gRPC channel, health, OpenAPI.

Generic over the API: everything specific to one arrives in its ApiSpec.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import orjson
from aiohttp import web
from aiohttp.typedefs import Handler
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2

from dnc_common.tracing import current_trace_id, outgoing_metadata
from dnc_common.wire import REQUEST_ID_KEY

from . import envelope, errors, metrics, openapi, proto_docs, rendering, streaming
from .channel import open_channel
from .cors import CorsPolicy
from .errors import GatewayError
from .routing import Route, parse_grpc_timeout, routes_from_files
from .settings import Settings
from .spec import ApiSpec

logger = logging.getLogger("gateway")
access_logger = logging.getLogger("gateway.access")

HEALTH_TIMEOUT_SECONDS = 1.5
# Media types a body route reads; a missing Content-Type is read as JSON too (curl -d sends
# form encoding's type, which is refused: 415 says what to send).
JSON_MEDIA_TYPES = frozenset({"application/json", "application/octet-stream"})
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
# The shortest deadline worth a call.
MIN_TIMEOUT_SECONDS = 0.001
MISSING_AUTHORIZATION = "missing bearer token: send 'Authorization: Bearer <jwt>'"
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_METADATA_VALUE = re.compile(r"[\x20-\x7e]*")

# A channel's unary_unary or unary_stream multi-callable.
Call = Callable[..., Any]
SETTINGS = web.AppKey("settings", Settings)
SPEC = web.AppKey("spec", ApiSpec)
CALLS = web.AppKey("calls", dict[str, Call])
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# Extra access-log fields of this request: the spec's logged trailers, a stream's outcome.
LOG_FIELDS = web.RequestKey("log_fields", dict[str, Any])


def create_app(settings: Settings, spec: ApiSpec) -> web.Application:
    """Routes from the spec's google.api.http rules, plus /healthz and /openapi.json."""
    routes = routes_from_files(spec.files)
    middlewares = [_observe]
    if settings.cors_allowed_origins:
        middlewares.append(CorsPolicy(settings.cors_allowed_origins).middleware)
    middlewares.append(_render_errors)
    app = web.Application(middlewares=middlewares, client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[SPEC] = spec
    for route in routes:
        if route.streaming:
            handler = _stream_handler(route)
        else:
            handler = _rpc_handler(route, spec.success_message(route.method.full_name))
        app.router.add_route(route.http_method, route.path, handler)
    app.router.add_get("/healthz", _healthz, allow_head=False)
    comments = proto_docs.leading_comments(spec.files)
    document = orjson.dumps(openapi.document(routes, spec, comments))
    app.router.add_get("/openapi.json", _static_json(document), allow_head=False)
    app.cleanup_ctx.append(_grpc_channel(routes))
    app.on_response_prepare.append(_set_server_header)
    return app


def _grpc_channel(
    routes: list[Route],
) -> Callable[[web.Application], AsyncIterator[None]]:
    """One channel for the application's whole life, closed after in-flight requests finish."""

    async def channel_context(app: web.Application) -> AsyncIterator[None]:
        channel = open_channel(app[SETTINGS], app[SPEC])
        calls: dict[str, Call] = {
            route.grpc_path: (channel.unary_stream if route.streaming else channel.unary_unary)(
                route.grpc_path,
                request_serializer=_serialize,
                response_deserializer=route.response_class.FromString,
            )
            for route in routes
        }
        calls[HEALTH_CHECK] = channel.unary_unary(
            HEALTH_CHECK,
            request_serializer=_serialize,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        app[CALLS] = calls
        yield
        await channel.close(grace=None)

    return channel_context


async def _set_server_header(request: web.Request, response: web.StreamResponse) -> None:
    """The spec's name instead of aiohttp's default, which names the Python and aiohttp versions."""
    response.headers["Server"] = request.app[SPEC].server_header


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _rpc_handler(route: Route, success_message: str) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        # Credentials first: a request without them is 401 whatever else is wrong with it.
        metadata = _metadata(request)
        body = await _read_body(request) if route.body else b""
        message = route.build_request(request.rel_url.query, request.match_info, body)
        timeout = _timeout_seconds(request)
        call = request.app[CALLS][route.grpc_path](message, timeout=timeout, metadata=metadata)
        try:
            response = await call
        finally:
            _note_trailers(request, await call.trailing_metadata())
        return web.Response(
            body=envelope.success_body(
                success_message, rendering.payload(response, route.response_body)
            ),
            content_type="application/json",
        )

    return handle


def _stream_handler(route: Route) -> Handler:
    """A server-streaming RPC as NDJSON or CSV (streaming.py), under the stream deadline."""
    payload_type: Any = route.method.output_type
    if route.response_body:  # a singular message field (routing checks)
        payload_type = payload_type.fields_by_name[route.response_body].message_type
    columns = streaming.columns(payload_type)

    def to_dict(message: Message) -> dict[str, Any]:
        data = rendering.payload(message, route.response_body)
        return data if isinstance(data, dict) else {}

    async def handle(request: web.Request) -> web.StreamResponse:
        # Credentials first, as for a unary call.
        metadata = _metadata(request)
        message = route.build_request(request.rel_url.query, request.match_info)
        output = streaming.negotiate(request.headers.get("Accept"))
        upstream = request.app[SPEC].upstream_name
        timeout = _timeout_seconds(request, stream=True)
        call = request.app[CALLS][route.grpc_path](message, timeout=timeout, metadata=metadata)
        outcome = streaming.Outcome()
        try:
            return await streaming.relay(
                request,
                aiter(call),
                lambda response: streaming.StreamWriter(response, output, to_dict, columns),
                output,
                lambda error: errors.code_error_body(
                    upstream_code(error), error.details() or "", upstream
                ),
                outcome,
            )
        finally:
            call.cancel()  # a no-op once the stream has ended
            if outcome.messages or outcome.error or outcome.client_gone:
                _note_stream(request, route, outcome)
            if not outcome.client_gone:
                _note_trailers(request, await call.trailing_metadata())

    return handle


def _note_stream(request: web.Request, route: Route, outcome: streaming.Outcome) -> None:
    """A stream's size and how it ended, in its access-log line and the metrics."""
    label = _route_label(request)
    fields = request.setdefault(LOG_FIELDS, {})
    fields["streamed"] = outcome.messages
    metrics.STREAMED_MESSAGES.labels(label).inc(outcome.messages)
    if outcome.error is not None:
        fields["stream_error"] = outcome.error.name
        metrics.STREAMS_BROKEN.labels(label, outcome.error.name).inc()
        metrics.UPSTREAM_ERRORS.labels(outcome.error.name).inc()
        logger.warning(
            "%s stream broke after %d messages: %s",
            request.app[SPEC].upstream_name, outcome.messages, outcome.error.name,
            extra={"grpc_code": outcome.error.name, "request_id": request_id_var.get()},
        )  # fmt: skip
    if outcome.client_gone:
        fields["stream_error"] = "CLIENT_GONE"
        metrics.STREAMS_BROKEN.labels(label, "CLIENT_GONE").inc()


async def _read_body(request: web.Request) -> bytes:
    """The body of a JSON route: JSON (or no Content-Type) within the size limit."""
    media_type = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if media_type and media_type not in JSON_MEDIA_TYPES and not media_type.endswith("+json"):
        raise _Refused(
            415, f"Content-Type {media_type[:64]!r} is not accepted: send application/json."
        )
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[SETTINGS].max_body_bytes
        raise _Refused(413, f"The request body is larger than {limit} bytes.") from None


class _Refused(Exception):
    """An HTTP-level refusal (413, 415) that has no gRPC code of its own."""

    def __init__(self, status: int, details: str) -> None:
        super().__init__(details)
        self.status = status
        self.details = details


def _note_trailers(request: web.Request, trailers: Any) -> None:
    """Keep the trailers the spec asks the access log to carry."""
    logged = request.app[SPEC].logged_trailers
    for key, value in trailers or ():
        if key in logged and isinstance(value, str):
            request.setdefault(LOG_FIELDS, {})[logged[key]] = value


def _timeout_seconds(request: web.Request, stream: bool = False) -> float:
    """The gateway's deadline (a stream's own), shortened by the client's Grpc-Timeout header.

    Under a millisecond the call could not even be sent in time (gRPC would start it anyway
    and fail it in its core): DEADLINE_EXCEEDED at once, without a call.
    """
    settings = request.app[SETTINGS]
    timeout = settings.stream_timeout_seconds if stream else settings.timeout_seconds
    header = request.headers.get("Grpc-Timeout")
    if header is not None:
        timeout = min(timeout, parse_grpc_timeout(header))
    if timeout < MIN_TIMEOUT_SECONDS:
        raise GatewayError(
            grpc.StatusCode.DEADLINE_EXCEEDED, f"Grpc-Timeout {header!r} is under a millisecond"
        )
    return timeout


def _metadata(request: web.Request) -> tuple[tuple[str, str], ...]:
    """`authorization` unchanged, the request id and the trace context; gRPC metadata must be
    printable ASCII.

    No Authorization header (when the spec requires one) or more than one is UNAUTHENTICATED
    here, as the service would answer: with two, forwarding either would pick for the service.
    """
    metadata = [(REQUEST_ID_KEY, request_id_var.get()), *outgoing_metadata()]
    given = request.headers.getall("Authorization", [])
    if len(given) > 1:
        raise GatewayError(grpc.StatusCode.UNAUTHENTICATED, "more than one Authorization header")
    if not (given and given[0].strip()):
        if request.app[SPEC].authorization_required:
            raise GatewayError(grpc.StatusCode.UNAUTHENTICATED, MISSING_AUTHORIZATION)
        return tuple(metadata)
    if not _METADATA_VALUE.fullmatch(given[0]):
        raise GatewayError(
            grpc.StatusCode.UNAUTHENTICATED, "the Authorization header is not printable ASCII"
        )
    metadata.append(("authorization", given[0]))
    return tuple(metadata)


async def _healthz(request: web.Request) -> web.Response:
    """200 only while the service itself answers SERVING to grpc.health.v1."""
    check = request.app[CALLS][HEALTH_CHECK]
    try:
        reply = await check(
            health_pb2.HealthCheckRequest(service=""), timeout=HEALTH_TIMEOUT_SECONDS
        )
        upstream = str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
    except grpc.aio.AioRpcError as error:
        upstream = error.code().name
    serving = upstream == "SERVING"
    return web.Response(
        status=200 if serving else 503,
        body=orjson.dumps(
            {
                "status": "SERVING" if serving else "NOT_SERVING",
                request.app[SPEC].health_key: upstream,
            }
        ),
        content_type="application/json",
    )


def _static_json(body: bytes) -> Handler:
    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    return serve


@web.middleware
async def _observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id in and out; one access-log line per request (path only: no query, no token)."""
    started = time.perf_counter()
    request_id = request_id_of(request.headers.get("X-Request-Id"))
    token = request_id_var.set(request_id)
    status = 499  # overwritten unless the client went away mid-request
    metrics.IN_FLIGHT.inc()
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    finally:
        request_id_var.reset(token)
        elapsed = time.perf_counter() - started
        route = _route_label(request)
        log_fields = request.get(LOG_FIELDS, {})
        metrics.IN_FLIGHT.dec()
        metrics.REQUESTS.labels(route, str(status)).inc()
        metrics.LATENCY.labels(route).observe(elapsed)
        access_logger.info(
            "%s %s %d", request.method, request.path, status,
            extra={
                "method": request.method,
                "path": request.path,
                "status": status,
                "latency_ms": round(elapsed * 1000, 3),
                "request_id": request_id,
                "trace_id": current_trace_id(),
                **{name: None for name in request.app[SPEC].logged_trailers.values()},
                **log_fields,
            },
        )  # fmt: skip


def _route_label(request: web.Request) -> str:
    """The matched route's template: bounded label values, whatever paths clients send."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def request_id_of(header: str | None) -> str:
    """The client's X-Request-Id when it is short and plain, else a new uuid4."""
    if header is not None and _REQUEST_ID.fullmatch(header):
        return header
    return str(uuid.uuid4())


@web.middleware
async def _render_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure, routing included, becomes the envelope; nothing internal leaks."""
    upstream = request.app[SPEC].upstream_name
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return errors.from_http_exception(error, upstream)
    except GatewayError as error:
        return errors.from_code(error.code, error.details, upstream)
    except _Refused as error:
        return errors.error_response(error.status, error.details, upstream=upstream)
    except grpc.aio.AioRpcError as error:
        code = upstream_code(error)
        received = error.code().name  # as the service sent it, for metrics and logs
        metrics.UPSTREAM_ERRORS.labels(received).inc()
        if errors.http_status_from_code(code) >= 500:
            logger.warning(
                "%s call failed: %s %s", upstream, received, error.details(),
                extra={"grpc_code": received, "request_id": request_id_var.get()},
            )  # fmt: skip
        return errors.from_code(code, error.details() or "", upstream)
    except Exception:
        logger.exception("unexpected error", extra={"request_id": request_id_var.get()})
        return errors.error_response(500, "", upstream=upstream)


def upstream_code(error: grpc.aio.AioRpcError) -> grpc.StatusCode:
    """The call's status, except that CANCELLED becomes UNAVAILABLE.

    The gateway never cancels a call while its client waits (aiohttp does not cancel handlers
    when a client goes away), so a CANCELLED here came from the service: a server that stops
    resets the calls still waiting in its queue. They never ran; 499 would tell the client it
    gave up, while 503 says what happened and that a retry is safe.
    """
    code = error.code()
    return grpc.StatusCode.UNAVAILABLE if code == grpc.StatusCode.CANCELLED else code
