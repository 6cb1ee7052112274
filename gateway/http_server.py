"""The gateway's HTTP connections: a deadline for each request head, a cap on open connections,
bodies never inflated, and requests too large or malformed to parse answered with the error
envelope instead of aiohttp's plain text.

aiohttp (3.14) has no header-read timeout: its keep-alive timer (an hour by default) is all that
ends a connection trickling a header line a second. Here a request head must arrive whole
within `head_timeout` of its first byte (or of the connection opening); else the client gets
a 408 envelope and the connection is closed. Between requests an idle keep-alive connection is
left alone for IDLE_KEEPALIVE_SECONDS.

Past `max_connections` open connections, a new connection's request is answered 503 as soon as
its head is in, without reading its body, and the connection is closed: stalled clients cannot
hold more than the cap's worth of buffers. Bodies are read as sent (`auto_decompress=False`):
body.py refuses an encoded one, so nothing, not even aiohttp's draining of an unread body,
inflates a compressed bomb.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from . import envelope, metrics
from .errors import ErrorRenderer, GatewayError

logger = logging.getLogger("gateway.http")

# Limits of one request head. The request line's limit differs from a header line's by two
# bytes only so that the parser's LineTooLong says which one was exceeded (414 or 431).
MAX_REQUEST_LINE_BYTES = 8192
MAX_HEADER_LINE_BYTES = 8190
MAX_HEADERS = 128
# Longer than the idle timeout of common proxies in front (60 s), so they close first.
IDLE_KEEPALIVE_SECONDS = 75.0
# After an answer sent before its body was read (401, 408, 413, 415, 503), the rest of the body is
# read and dropped this long at most, so that the client, still sending, reads the answer instead
# of a connection reset; then the connection is closed (aiohttp's default is 10 s).
LINGERING_SECONDS = 2.0

RequestCall = Callable[[BaseRequest], Awaitable[web.StreamResponse]]


class ConnectionCount:
    """Open connections of one listener, against its cap."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0


class EnvelopeRequestHandler(RequestHandler):
    """aiohttp's connection protocol with a request-head deadline and envelope parse errors."""

    def __init__(
        self,
        manager: web.Server,
        *,
        head_timeout: float,
        server_header: str,
        renderer: ErrorRenderer,
        connections: ConnectionCount,
        **kwargs: Any,
    ) -> None:
        super().__init__(manager, **kwargs)
        self._connections = connections
        self.over_capacity = False
        self._counted = False
        self._head_timeout = head_timeout
        self._server_header = server_header
        self._renderer = renderer
        self._reading_head = True  # between requests: the next head is what we wait for
        self._head_timer: asyncio.TimerHandle | None = None
        self._bytes_seen = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._connections.open += 1
        metrics.OPEN_CONNECTIONS.inc()
        self._counted = True
        self.over_capacity = self._connections.open > self._connections.limit
        self._start_head_timer()  # a connection that sends nothing is closed too

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._counted:
            self._counted = False
            self._connections.open -= 1
            metrics.OPEN_CONNECTIONS.dec()
        self._stop_head_timer()
        super().connection_lost(exc)

    def refuse_over_capacity(self) -> web.Response:
        """503 to a connection opened past the cap; its body unread, the connection closed."""
        limit = self._connections.limit
        metrics.CONNECTIONS_REFUSED.inc()
        logger.warning(
            "refused a connection over the limit of %d open connections", limit,
            extra={"status": 503},
        )  # fmt: skip
        error = GatewayError(
            grpc.StatusCode.UNAVAILABLE,
            f"more than {limit} open connections",
            headers={"Retry-After": "1"},
        )
        response = self._renderer.response(error)
        response.headers["Server"] = self._server_header
        response.force_close()
        return response

    def data_received(self, data: bytes) -> None:
        if data and self._reading_head:
            self._bytes_seen = True
            self._start_head_timer()
        super().data_received(data)

    def head_received(self) -> None:
        self._reading_head = False
        self._stop_head_timer()

    def request_done(self) -> None:
        self._reading_head = True
        self._bytes_seen = False

    def _start_head_timer(self) -> None:
        if self._head_timer is None:
            loop = asyncio.get_running_loop()
            self._head_timer = loop.call_later(self._head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._reading_head or self.transport is None:
            return
        if self._bytes_seen:  # a request began but its head never ended: say so, then close
            logger.warning(
                "closed a connection whose request head took over %ss", self._head_timeout,
                extra={"status": 408},
            )  # fmt: skip
            detail = f"The request head did not arrive within {self._head_timeout:g} seconds."
            self.transport.write(self._raw_response(GatewayError.refusal(408, detail)))
        self.force_close()  # closes the transport once the response is flushed

    def _raw_response(self, error: GatewayError) -> bytes:
        status = error.status
        body = self._renderer.body(error)
        head = (
            f"HTTP/1.1 {status} {envelope.short_message(status)}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Server: {self._server_header}\r\nConnection: close\r\n\r\n"
        )
        return head.encode("latin-1") + body

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A request the parser refused: the envelope and one warning line, no traceback.

        The parser's own message is not used: it quotes the request (a token, say).
        """
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        self._stop_head_timer()
        error = refusal(exc)
        logger.warning(
            "refused a request it could not parse: %s", error.details,
            extra={"status": error.status},
        )  # fmt: skip
        response = self._renderer.response(error)
        response.headers["Server"] = self._server_header
        response.force_close()
        return response


def refusal(error: HttpProcessingError) -> GatewayError:
    """The refusal of a request head the parser could not take."""
    if isinstance(error, LineTooLong):
        if error.args[1] == MAX_REQUEST_LINE_BYTES:
            return GatewayError.refusal(
                414, f"The request line is longer than {MAX_REQUEST_LINE_BYTES} bytes."
            )
        return GatewayError.refusal(
            431, f"A header line is longer than {MAX_HEADER_LINE_BYTES} bytes."
        )
    if "Too many headers" in str(error.message):
        return GatewayError.refusal(431, f"More than {MAX_HEADERS} header lines.")
    return GatewayError.refusal(400, "The request is not valid HTTP/1.1.")


class GatewaySite(web.BaseSite):
    """A TCP listener whose connections are EnvelopeRequestHandlers of the runner's server."""

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        *,
        head_timeout: float,
        server_header: str,
        max_connections: int,
        renderer: ErrorRenderer | None = None,
    ) -> None:
        super().__init__(runner)
        self._connections = ConnectionCount(max_connections)
        self._host = host
        self._port = port
        self._head_timeout = head_timeout
        self._server_header = server_header
        self._renderer = renderer or ErrorRenderer()

    @property
    def name(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        _track_heads(server)
        loop = asyncio.get_running_loop()

        def connection() -> EnvelopeRequestHandler:
            return EnvelopeRequestHandler(
                server,
                loop=loop,
                head_timeout=self._head_timeout,
                server_header=self._server_header,
                renderer=self._renderer,
                connections=self._connections,
                auto_decompress=False,  # body.py refuses encoded bodies; nothing inflates
                access_log=None,  # the gateway logs each request itself
                keepalive_timeout=IDLE_KEEPALIVE_SECONDS,
                lingering_time=LINGERING_SECONDS,
                max_line_size=MAX_REQUEST_LINE_BYTES,
                max_field_size=MAX_HEADER_LINE_BYTES,
                max_headers=MAX_HEADERS,
            )

        self._server = await loop.create_server(
            connection, self._host, self._port, reuse_address=True
        )


def _track_heads(server: web.Server) -> None:
    """Tell each connection when its request's head is in and when the request is done."""
    inner: RequestCall = server.request_handler

    async def handle(request: BaseRequest) -> web.StreamResponse:
        protocol = request.protocol
        if isinstance(protocol, EnvelopeRequestHandler):
            protocol.head_received()
            if protocol.over_capacity:
                return protocol.refuse_over_capacity()
        try:
            return await inner(request)
        finally:
            if isinstance(protocol, EnvelopeRequestHandler):
                protocol.request_done()

    server.request_handler = handle
