"""The two middlewares every request passes: observation (request id, access log, metrics)
and errors (every failure, routing included, rendered by the one ErrorRenderer)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import cache
from typing import Any

import grpc
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from dnc_common.tracing import current_trace_id

from . import metrics
from .call_context import request_id_of, request_id_var
from .errors import ErrorRenderer, GatewayError

logger = logging.getLogger("gateway")
access_logger = logging.getLogger("gateway.access")
# Extra access-log fields of this request: the spec's logged trailers, a stream's outcome.
LOG_FIELDS = web.RequestKey("log_fields", dict[str, Any])


def route_label(request: web.Request) -> str:
    """The matched route's template: bounded label values, whatever paths clients send."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


# Each route's metric children, looked up once: labels() validates and locks on every call.
# Routes are templates and statuses few, so the caches stay small.
@cache
def _requests(route: str, status: int) -> Any:
    return metrics.REQUESTS.labels(route, str(status))


@cache
def _latency(route: str) -> Any:
    return metrics.LATENCY.labels(route)


def observe(logged_fields: Iterable[str]) -> Middleware:
    """Request id in and out; one access-log line per request (path only: no query, no token).

    `logged_fields` (null unless a handler sets them) keep every line's keys the same.
    """
    absent = dict.fromkeys(logged_fields)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
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
            route = route_label(request)
            metrics.IN_FLIGHT.dec()
            _requests(route, status).inc()
            _latency(route).observe(elapsed)
            # The line's fields (and its trace id) only when the line is written: at WARNING and
            # above, as in the benchmark, nothing of it is built.
            if access_logger.isEnabledFor(logging.INFO):
                access_logger.info(
                    "%s %s %d", request.method, request.path, status,
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "status": status,
                        "latency_ms": round(elapsed * 1000, 3),
                        "request_id": request_id,
                        "trace_id": current_trace_id(),
                        **absent,
                        **request.get(LOG_FIELDS, {}),
                    },
                )  # fmt: skip

    return middleware


def render_errors(renderer: ErrorRenderer) -> Middleware:
    """The one place a failure becomes a response; nothing internal leaks."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as error:
            if error.status < 400:
                raise
            failure = GatewayError.from_http_exception(error)
        except GatewayError as error:
            failure = error
        except grpc.aio.AioRpcError as error:
            failure = upstream_failure(error, renderer.upstream)
        except Exception:
            logger.exception("unexpected error", extra={"request_id": request_id_var.get()})
            failure = GatewayError(grpc.StatusCode.INTERNAL, "")
        response = renderer.response(failure)
        if request.body_exists and not request.content.is_eof():
            # Refused before its body was read whole (401, 408, 413, 415): the connection ends
            # after this answer rather than wait for the rest of a body nobody will read.
            response.force_close()
        return response

    return middleware


def upstream_failure(error: grpc.aio.AioRpcError, upstream: str) -> GatewayError:
    """A failed call as a GatewayError, counted; a 5xx is logged with the service's text."""
    failure = GatewayError.from_rpc(error)
    received = error.code().name  # as the service sent it
    metrics.UPSTREAM_ERRORS.labels(received).inc()
    if failure.status >= 500:
        logger.warning(
            "%s call failed: %s %s", upstream, received, error.details(),
            extra={"grpc_code": received, "request_id": request_id_var.get()},
        )  # fmt: skip
    return failure


def server_header(
    name: str,
) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """The API's name instead of aiohttp's default, which names the Python and aiohttp versions."""

    async def set_header(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Server"] = name

    return set_header
