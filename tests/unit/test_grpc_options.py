"""Keepalive: the gateway's channel and the service's server use one definition that agrees."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from dnc_common import grpc_options
from dnc_service import server
from dnc_service.settings import Settings
from gateway.channel import channel_options
from gateway.dnc_api import DNC_API


def test_the_server_accepts_the_clients_pings() -> None:
    client = dict(grpc_options.client_keepalive())
    accepted = dict(grpc_options.server_keepalive())
    # A server that wants pings further apart than the client sends them drops the connection.
    interval = accepted["grpc.http2.min_ping_interval_without_data_ms"]
    assert interval <= client["grpc.keepalive_time_ms"]
    assert client["grpc.keepalive_permit_without_calls"] == 1
    assert accepted["grpc.keepalive_permit_without_calls"] == 1
    assert client["grpc.keepalive_timeout_ms"] < client["grpc.keepalive_time_ms"]


def test_the_gateway_channel_uses_the_client_keepalive() -> None:
    options = channel_options(DNC_API)
    assert set(grpc_options.client_keepalive()) <= set(options)


@pytest.mark.asyncio
async def test_the_service_uses_the_server_keepalive(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    real_server = grpc.aio.server

    def spy(*args: Any, **kwargs: Any) -> grpc.aio.Server:
        seen.update(kwargs)
        return real_server(*args, **kwargs)

    monkeypatch.setattr(grpc.aio, "server", spy)
    settings = Settings.from_env({"DNC_JWT_SECRET": "s" * 32, "DNC_GRPC_ADDR": "127.0.0.1:0"})
    server.DncServer(settings)
    assert set(grpc_options.server_keepalive()) <= set(seen["options"])
