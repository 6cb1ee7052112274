"""One handler per route, built at start with everything it needs: unary calls answer the
envelope, server streams relay NDJSON or CSV (streaming.py). The gRPC call itself is bound when
the channel opens (app.py); failures propagate to the error middleware."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import grpc
from aiohttp import web
from google.protobuf.message import Message

from . import body, envelope, metrics, rendering, streaming
from .call_context import CallContext, request_id_var
from .errors import ErrorRenderer, GatewayError
from .middleware import LOG_FIELDS, route_label
from .routes import Route

logger = logging.getLogger("gateway")
# Media types a body route reads; a missing Content-Type is read as JSON too (curl -d sends
# form encoding's type, which is refused: 415 says what to send).
JSON_MEDIA_TYPES = frozenset({"application/json", "application/octet-stream"})
# A channel's unary_unary or unary_stream multi-callable.
Call = Callable[..., Any]


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


class RouteHandler(ABC):
    """What unary and stream handlers share: the route, its call context, the logged trailers."""

    def __init__(
        self, route: Route, context: CallContext, logged_trailers: Mapping[str, str]
    ) -> None:
        self.route = route
        self._context = context
        self._logged_trailers = logged_trailers
        self._call: Call = _not_bound

    def bind(self, channel: grpc.aio.Channel) -> None:
        """The route's multi-callable on the channel the application opened: a streamed request
        body (an upload route) makes a client stream, a streamed answer a server stream."""
        route = self.route
        factory: Any
        if route.uploading:
            factory = channel.stream_stream if route.streaming else channel.stream_unary
        else:
            factory = channel.unary_stream if route.streaming else channel.unary_unary
        self._call = factory(
            route.grpc_path,
            request_serializer=_serialize,
            response_deserializer=route.response_class.FromString,
        )

    @abstractmethod
    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one request of the route."""

    def _note_trailers(self, request: web.Request, trailers: Any) -> None:
        """Keep the trailers the API asks the access log to carry."""
        logged = self._logged_trailers
        for key, value in trailers or ():
            if key in logged and isinstance(value, str):
                request.setdefault(LOG_FIELDS, {})[logged[key]] = value


class UnaryHandler(RouteHandler):
    """A unary RPC: the request from the query, path and JSON body; the envelope back."""

    def __init__(
        self,
        route: Route,
        context: CallContext,
        logged_trailers: Mapping[str, str],
        success_message: str,
        body_limits: body.BodyLimits,
    ) -> None:
        super().__init__(route, context, logged_trailers)
        self._success_message = success_message
        self._body_limits = body_limits

    async def handle(self, request: web.Request) -> web.StreamResponse:
        route = self.route
        # Credentials first: a request without them is 401 whatever else is wrong with it.
        metadata = self._context.metadata(request)
        data = await self._read_body(request) if route.body else b""
        message = route.build_request(request.rel_url.query, request.match_info, data)
        timeout = self._context.timeout(request)
        call = self._call(message, timeout=timeout, metadata=metadata)
        try:
            response = await call
        finally:
            self._note_trailers(request, await call.trailing_metadata())
        return web.Response(
            body=envelope.success_body(
                self._success_message, rendering.payload(response, route.response_body)
            ),
            content_type="application/json",
        )

    async def _read_body(self, request: web.Request) -> bytes:
        """The body of a JSON route: JSON (or no Content-Type), unencoded, within the limits."""
        _check_media_type(request)
        return await body.read_whole(request, self._body_limits)

    async def expect(self, request: web.Request) -> None:
        """`Expect: 100-continue`: the client is asked for its body only when the head alone
        would not be refused (credentials, media type, encoding, declared length); else no
        100 is sent, and the handler answers the refusal before the body is sent at all."""
        if request.headers.get("Expect", "").lower() != "100-continue":
            raise web.HTTPExpectationFailed()  # as aiohttp answers any other expectation
        try:
            self._context.metadata(request)
            _check_media_type(request)
            body.check_head(request, self._body_limits)
        except GatewayError:
            return
        if request.version >= (1, 1):
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            request.writer.output_size = 0  # as aiohttp does: the response has not started


def _check_media_type(request: web.Request) -> None:
    media_type = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if media_type and media_type not in JSON_MEDIA_TYPES and not media_type.endswith("+json"):
        raise GatewayError.refusal(
            415, f"Content-Type {media_type[:64]!r} is not accepted: send application/json."
        )


class StreamHandler(RouteHandler):
    """A server-streaming RPC as NDJSON or CSV, under the stream deadline."""

    def __init__(
        self,
        route: Route,
        context: CallContext,
        logged_trailers: Mapping[str, str],
        renderer: ErrorRenderer,
        download_name: str,
    ) -> None:
        super().__init__(route, context, logged_trailers)
        self._renderer = renderer
        self._download_name = download_name
        payload_type: Any = route.method.output_type
        if route.response_body:  # a singular message field (routes.py checks)
            payload_type = payload_type.fields_by_name[route.response_body].message_type
        if route.response_items:  # a batch: each of its items is one line
            payload_type = payload_type.fields_by_name[route.response_items].message_type
        self._columns = streaming.columns(payload_type)

    def _to_dict(self, message: Message) -> dict[str, Any]:
        if self.route.response_items:
            return rendering.message_to_dict(message)
        data = rendering.payload(message, self.route.response_body)
        return data if isinstance(data, dict) else {}

    def _error_line(self, error: GatewayError) -> bytes:
        return self._renderer.body(error)

    def _writer(self, output: streaming.Format) -> Callable[[web.StreamResponse], Any]:
        def writer_for(response: web.StreamResponse) -> streaming.StreamWriter:
            return streaming.StreamWriter(response, output, self._to_dict, self._columns)

        return writer_for

    def _lines(self, call: Any) -> AsyncIterator[Message]:
        """The call's messages, or their items when each message is only a batch of them."""
        if self.route.response_items:
            return streaming.items(aiter(call), self.route.response_items)
        return aiter(call)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        # Credentials first, as for a unary call.
        metadata = self._context.metadata(request)
        message = self.route.build_request(request.rel_url.query, request.match_info)
        output = streaming.negotiate(request.headers.get("Accept"))
        timeout = self._context.timeout(request)
        call = self._call(message, timeout=timeout, metadata=metadata)
        outcome = streaming.Outcome()
        try:
            return await self._relay(request, call, output, outcome)
        finally:
            call.cancel()  # a no-op once the stream has ended
            await self._note_end(request, call, outcome)

    async def _relay(
        self,
        request: web.Request,
        call: Any,
        output: streaming.Format,
        outcome: streaming.Outcome,
        ending: Callable[[], Awaitable[GatewayError | None]] = streaming.no_failure,
    ) -> web.StreamResponse:
        """The call's responses to the client in `output` (see streaming.relay for `ending`)."""
        return await streaming.relay(
            request, self._lines(call), self._writer(output), output, self._error_line,
            outcome, self._download_name, ending,
        )  # fmt: skip

    async def _note_end(self, request: web.Request, call: Any, outcome: streaming.Outcome) -> None:
        """The stream's outcome and the call's logged trailers, in the access line."""
        if outcome.messages or outcome.error or outcome.client_gone:
            self._note_stream(request, outcome)
        if not outcome.client_gone:
            self._note_trailers(request, await call.trailing_metadata())

    def _note_stream(self, request: web.Request, outcome: streaming.Outcome) -> None:
        """A stream's size and how it ended, in its access-log line and the metrics."""
        label = route_label(request)
        fields = request.setdefault(LOG_FIELDS, {})
        fields["streamed"] = outcome.messages
        metrics.STREAMED_MESSAGES.labels(label).inc(outcome.messages)
        if outcome.error is not None:
            fields["stream_error"] = outcome.error.name
            metrics.STREAMS_BROKEN.labels(label, outcome.error.name).inc()
            metrics.UPSTREAM_ERRORS.labels(outcome.error.name).inc()
            logger.warning(
                "%s stream broke after %d messages: %s",
                self._renderer.upstream, outcome.messages, outcome.error.name,
                extra={"grpc_code": outcome.error.name, "request_id": request_id_var.get()},
            )  # fmt: skip
        if outcome.client_gone:
            fields["stream_error"] = "CLIENT_GONE"
            metrics.STREAMS_BROKEN.labels(label, "CLIENT_GONE").inc()


def _not_bound(*args: Any, **kwargs: Any) -> Any:
    raise GatewayError(grpc.StatusCode.UNAVAILABLE, "the gateway's channel is not open")
