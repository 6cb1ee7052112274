"""The real `python -m gateway` streaming large bodies into a service that reads slowly: its
memory stays flat (flow control holds the HTTP reader back), and a client that goes away
mid-body cancels the call."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent import futures
from typing import Any

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from upload_support import SlowSyncScrub

from dnc.v1 import dnc_pb2_grpc
from gateway_support import GatewayFactory
from support import rss_kib, wait_until

MESSAGES = 1200  # of 1,000 numbers each: about 20 MB of NDJSON
GROWTH_LIMIT_KIB = 20 * 1024


class Watched(SlowSyncScrub):
    """The slow servicer, noting when an import's handler returns."""

    def __init__(self, delay: float) -> None:
        super().__init__(delay)
        self.ended = threading.Event()

    def ImportDnc(self, requests: Any, context: Any) -> Any:
        try:
            return super().ImportDnc(requests, context)
        finally:
            self.ended.set()


@pytest.fixture
def slow_service() -> Iterator[tuple[Watched, str]]:
    servicer = Watched(delay=0.003)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    dnc_pb2_grpc.add_DncServiceServicer_to_server(servicer, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(None)


async def ndjson_body(messages: int) -> AsyncIterator[bytes]:
    for index in range(messages):
        numbers = ",".join(f'"+1{index % 900 + 100:03d}555{n:04d}"' for n in range(1000))
        yield f'{{"phoneNumbers":[{numbers}]}}\n'.encode()


async def watch_rss(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kib(pid))
        await asyncio.sleep(0.05)


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_gateway_memory_stays_flat_while_a_slow_service_scrubs_20_mb(
    slow_service: tuple[Watched, str], gateway_factory: GatewayFactory
) -> None:
    servicer, target = slow_service
    gateway = gateway_factory(target)
    pid = gateway.process.popen.pid
    headers = {"Authorization": "Bearer a.b.c", "Content-Type": "application/x-ndjson"}
    async with aiohttp.ClientSession() as session:
        # Warm up: the first call's allocations (channel, parsers) are not growth.
        async with session.post(
            f"{gateway.url}/api/dnc/scrub", data=ndjson_body(20), headers=headers
        ) as warm:
            assert warm.status == 200
            await warm.read()
        baseline = rss_kib(pid)
        peak, stop = [baseline], asyncio.Event()
        watcher = asyncio.create_task(watch_rss(pid, peak, stop))
        lines = 0
        async with session.post(
            f"{gateway.url}/api/dnc/scrub", data=ndjson_body(MESSAGES), headers=headers
        ) as response:
            assert response.status == 200
            async for _ in response.content:
                lines += 1
        stop.set()
        await watcher
    assert lines == MESSAGES * 1000
    assert servicer.items == (MESSAGES + 20) * 1000
    growth = peak[0] - baseline
    print(f"gateway RSS {baseline} KiB, grew {growth} KiB")
    assert growth < GROWTH_LIMIT_KIB, f"gateway RSS grew {growth} KiB over {baseline} KiB"


def test_a_client_gone_mid_body_cancels_the_real_gateways_call(
    slow_service: tuple[Watched, str], gateway_factory: GatewayFactory
) -> None:
    servicer, target = slow_service
    gateway = gateway_factory(target)
    host, port = gateway.url.removeprefix("http://").split(":")
    rows = "".join(f"+1212555{n:04d}\n" for n in range(3000)).encode()
    with socket.create_connection((host, int(port))) as client:
        client.sendall(
            b"POST /api/dnc/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a.b.c\r\n"
            b"Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n"
            + f"{len(rows) + 12:x}\r\n".encode()
            + b"phoneNumber\n"
            + rows
            + b"\r\n"
        )
        wait_until(lambda: servicer.items >= 3000, timeout=10)
    # The connection closed without the last chunk: the call is cancelled, never half-closed.
    assert servicer.ended.wait(10)
    # A sync servicer's request iterator just stops, cancelled or half-closed; the gateway's
    # access line says which it did (test_gateway_upload.py sees the cancellation itself).
    wait_until(lambda: bool(gateway.process.json_lines(body_error="CANCELLED")), timeout=10)
    (line,) = gateway.process.json_lines(body_error="CANCELLED")
    assert (line["status"], line["body_messages"]) == (499, 3)
