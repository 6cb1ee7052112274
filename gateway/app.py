"""The aiohttp application: the handlers built from the route table, the middlewares, the one
gRPC channel they share, /healthz, /openapi.json and /docs.

Generic over the API: everything specific to one arrives in its ApiSpec. Everything a request
needs is fixed here, at start; nothing is looked up in the application per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

import grpc
import orjson
from aiohttp import web
from aiohttp.typedefs import Handler

from . import docs, middleware, openapi, proto_docs
from .body import BodyLimits
from .call_context import CallContext
from .channel import open_channel
from .cors import CorsPolicy
from .errors import ErrorRenderer
from .handlers import RouteHandler, StreamHandler, UnaryHandler
from .health import HealthCheck
from .routes import Route, routes_from_files
from .settings import GatewaySettings
from .spec import ApiSpec
from .trace_context import continue_trace
from .upload_handlers import UploadStreamHandler, UploadUnaryHandler


class _Bindable(Protocol):
    def bind(self, channel: grpc.aio.Channel) -> None: ...


def create_app(
    settings: GatewaySettings, spec: ApiSpec, continue_traces: bool = False
) -> web.Application:
    """Routes from the spec's google.api.http rules, plus /healthz, /openapi.json and /docs.

    `continue_traces`: make each request's W3C trace current without recording spans (when
    no exporter runs; with one, the aiohttp instrumentation does it and records them).
    """
    routes = routes_from_files(spec.files)
    renderer = ErrorRenderer(spec.upstream_name)
    middlewares = [middleware.observe(spec.logged_trailers.values())]
    if continue_traces:
        middlewares.insert(0, continue_trace())
    if settings.cors_allowed_origins:
        middlewares.append(CorsPolicy(settings.cors_allowed_origins).middleware)
    middlewares.append(middleware.render_errors(renderer))
    app = web.Application(middlewares=middlewares, client_max_size=settings.max_body_bytes)
    handlers = [_handler(route, settings, spec, renderer) for route in routes]
    for handler in handlers:
        route = handler.route
        if isinstance(handler, UnaryHandler) and route.body:
            app.router.add_route(
                route.http_method, route.path, handler.handle, expect_handler=handler.expect
            )
        else:
            app.router.add_route(route.http_method, route.path, handler.handle)
    health = HealthCheck(spec.health_key)
    app.router.add_get("/healthz", health.handle, allow_head=False)
    comments = proto_docs.leading_comments(spec.files)
    document = orjson.dumps(openapi.document(routes, spec, comments))
    app.router.add_get("/openapi.json", _static_json(document), allow_head=False)
    docs.add_docs_routes(app.router, spec.title)
    app.cleanup_ctx.append(_grpc_channel(settings, spec, [*handlers, health]))
    app.on_response_prepare.append(middleware.server_header(spec.server_header))
    return app


def _handler(
    route: Route, settings: GatewaySettings, spec: ApiSpec, renderer: ErrorRenderer
) -> RouteHandler:
    """The route's handler with its deadline, its messages and its limits fixed."""
    if route.uploading:
        return _upload_handler(route, settings, spec, renderer)
    if route.streaming:
        context = CallContext(settings.stream_timeout_seconds, spec.authorization_required)
        download_name = spec.download_name(route.method.full_name)
        return StreamHandler(route, context, spec.logged_trailers, renderer, download_name)
    context = CallContext(settings.timeout_seconds, spec.authorization_required)
    return UnaryHandler(
        route,
        context,
        spec.logged_trailers,
        spec.success_message(route.method.full_name),
        BodyLimits(
            settings.max_body_bytes, settings.body_idle_seconds, settings.body_timeout_seconds
        ),
    )


def _upload_handler(
    route: Route, settings: GatewaySettings, spec: ApiSpec, renderer: ErrorRenderer
) -> RouteHandler:
    """A client or bidi stream: the body streamed under the stream deadline, each line bounded
    by the one-body limit."""
    context = CallContext(settings.stream_timeout_seconds, spec.authorization_required)
    limits = (settings.max_body_bytes, settings.body_idle_seconds)
    if route.streaming:
        download_name = spec.download_name(route.method.full_name)
        return UploadStreamHandler(
            route, context, spec.logged_trailers, renderer, download_name, *limits
        )
    message = spec.success_message(route.method.full_name)
    return UploadUnaryHandler(route, context, spec.logged_trailers, message, *limits)


def _grpc_channel(
    settings: GatewaySettings, spec: ApiSpec, users: Sequence[_Bindable]
) -> Callable[[web.Application], AsyncIterator[None]]:
    """One channel for the application's whole life, closed after in-flight requests finish."""

    async def channel_context(app: web.Application) -> AsyncIterator[None]:
        channel = open_channel(settings, spec)
        for user in users:
            user.bind(channel)
        yield
        await channel.close(grace=None)

    return channel_context


def _static_json(body: bytes) -> Handler:
    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    return serve
