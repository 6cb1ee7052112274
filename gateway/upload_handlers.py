"""Handlers of client- and bidi-streaming routes: the body streamed into the call (upload.py).

A client stream (an import) answers the envelope once the service has answered; a bidi stream
(a scrub) relays its answers as they come (streaming.py) while the body is still being read. A
bad line or an idle body half-closes the call, so the answer covers every message before it,
and then says what went wrong: the envelope's error (with the service's counts), or a last
error line. A client that goes away cancels the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Mapping
from typing import Any

import grpc
from aiohttp import web
from google.protobuf.message import Message

from . import body, envelope, rendering, streaming, upload
from .call_context import CallContext
from .errors import ErrorRenderer, GatewayError
from .handlers import StreamHandler, UnaryHandler
from .middleware import LOG_FIELDS
from .routes import Route


class _Upload:
    """What both handlers read a streamed body with: the limits and the start of each call."""

    def __init__(self, route: Route, max_line_bytes: int, idle_seconds: float) -> None:
        self._route = route
        self._max_line_bytes = max_line_bytes
        self._idle_seconds = idle_seconds

    def source(self, request: web.Request, progress: upload.Progress) -> AsyncIterator[Message]:
        """The body's messages; its form and the query are checked now, before any call."""
        route = self._route
        body.check_encoding(request)
        form = upload.body_format(request.headers.get("Content-Type"), route)
        template = route.stream_template(request.rel_url.query, request.match_info)
        lines = upload.LineReader(
            request.content, self._max_line_bytes, self._idle_seconds, progress
        )
        return upload.messages(route, template, lines, form, progress)


def _start(
    route: Route, call: Any, source: AsyncIterator[Message], progress: upload.Progress
) -> asyncio.Task[GatewayError | None]:
    """The body's messages written to the call by a task of their own."""
    field = route.upload_field.name if route.upload_field else None
    return asyncio.create_task(upload.send(call, source, progress, field))


def _note(request: web.Request, progress: upload.Progress, failure: GatewayError | None) -> None:
    fields = request.setdefault(LOG_FIELDS, {})
    fields["body_lines"] = progress.lines
    fields["body_messages"] = progress.messages
    if failure is not None:
        fields["body_error"] = failure.code.name


async def _finish(task: asyncio.Task[GatewayError | None], call: Any) -> None:
    """The call and its sending task stopped, whatever happened (a no-op once both ended):
    a handler cancelled because its client left cancels the call too."""
    call.cancel()
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


class UploadUnaryHandler(UnaryHandler):
    """A client-streaming RPC: the streamed body in, the envelope out."""

    def __init__(
        self,
        route: Route,
        context: CallContext,
        logged_trailers: Mapping[str, str],
        success_message: str,
        max_line_bytes: int,
        idle_seconds: float,
    ) -> None:
        # Only the limits of one line apply: the body streams, under the stream deadline.
        limits = body.BodyLimits(max_line_bytes, idle_seconds, total_seconds=math.inf)
        super().__init__(route, context, logged_trailers, success_message, limits)
        self._upload = _Upload(route, max_line_bytes, idle_seconds)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        metadata = self._context.metadata(request)  # credentials first
        progress = upload.Progress()
        source = self._upload.source(request, progress)
        call = self._call(timeout=self._context.timeout(request), metadata=metadata)
        sender = _start(self.route, call, source, progress)
        failure: GatewayError | None = None
        try:
            failure = await sender
            if failure is not None and failure.code == grpc.StatusCode.CANCELLED:
                raise failure  # the client is gone: nothing was answered
            response = await call
        finally:
            await _finish(sender, call)
            _note(request, progress, failure)
            if not call.cancelled():
                self._note_trailers(request, await call.trailing_metadata())
        payload = rendering.payload(response, self.route.response_body)
        if failure is not None:
            raise GatewayError(
                failure.code,
                f"{failure.details} The {progress.messages} messages ({progress.items} items) "
                f"before it were processed: {_counts(payload)}.",
                http_status=failure.status,
            )
        return web.Response(
            body=envelope.success_body(self._success_message, payload),
            content_type="application/json",
        )


def _counts(payload: Any) -> str:
    """The service's answer in a sentence: its scalar fields (an import's counts)."""
    if not isinstance(payload, dict):
        return "no answer"
    parts = [f"{key} {value}" for key, value in payload.items() if isinstance(value, int)]
    return ", ".join(parts) or "no counts"


class UploadStreamHandler(StreamHandler):
    """A bidi-streaming RPC: the streamed body in, NDJSON or CSV out while it is read."""

    def __init__(
        self,
        route: Route,
        context: CallContext,
        logged_trailers: Mapping[str, str],
        renderer: ErrorRenderer,
        download_name: str,
        max_line_bytes: int,
        idle_seconds: float,
    ) -> None:
        super().__init__(route, context, logged_trailers, renderer, download_name)
        self._upload = _Upload(route, max_line_bytes, idle_seconds)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        metadata = self._context.metadata(request)  # credentials first
        output = streaming.negotiate(request.headers.get("Accept"))
        progress = upload.Progress()
        source = self._upload.source(request, progress)
        call = self._call(timeout=self._context.timeout(request), metadata=metadata)
        sender = _start(self.route, call, source, progress)
        outcome = streaming.Outcome()
        failures: list[GatewayError] = []

        async def ending() -> GatewayError | None:
            failure = await sender
            if failure is not None:
                failures.append(failure)
            return failure

        try:
            return await self._relay(request, call, output, outcome, ending)
        finally:
            await _finish(sender, call)
            _note(request, progress, failures[0] if failures else None)
            await self._note_end(request, call, outcome)
