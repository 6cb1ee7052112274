"""The gateway's trace context without an exporter: the caller's trace (and sampled flag) is
continued under a new span id, or a new trace starts; nothing is left current afterwards."""

from __future__ import annotations

import re
import secrets

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from opentelemetry import propagate, trace

from gateway.trace_context import continue_trace

TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])")


async def outgoing(request: web.Request) -> web.Response:
    """What a call made while handling the request would carry."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return web.Response(text=carrier.get("traceparent", ""))


async def traceparent_seen(headers: dict[str, str]) -> re.Match[str]:
    app = web.Application(middlewares=[continue_trace()])
    app.router.add_get("/", outgoing)
    async with TestClient(TestServer(app)) as client:
        reply = await client.get("/", headers=headers)
        seen = TRACEPARENT.fullmatch(await reply.text())
    assert seen is not None
    assert not trace.get_current_span().get_span_context().is_valid
    return seen


@pytest.mark.parametrize("flags", ["00", "01"])
@pytest.mark.asyncio
async def test_the_callers_trace_and_flags_continue_under_a_new_span(flags: str) -> None:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    seen = await traceparent_seen({"traceparent": f"00-{trace_id}-{span_id}-{flags}"})
    assert (seen[1], seen[3]) == (trace_id, flags)
    assert seen[2] not in (span_id, "0" * 16)


@pytest.mark.parametrize("sent", [None, "00-not-a-traceparent", f"00-{'0' * 32}-{'1' * 16}-01"])
@pytest.mark.asyncio
async def test_without_a_valid_traceparent_a_new_unsampled_trace_starts(sent: str | None) -> None:
    seen = await traceparent_seen({"traceparent": sent} if sent else {})
    assert seen[1] != "0" * 32
    assert seen[2] != "0" * 16
    assert seen[3] == "00"
