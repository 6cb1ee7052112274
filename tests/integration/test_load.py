"""A bounded load and soak through the real gateway: no 5xx, and memory that stays flat.

Its own FerretDB, service and gateway, so the figures are not skewed by other tests' data.
Thousands of requests at high concurrency on loopback; it stops by itself (count and time bounds).
"""

from __future__ import annotations

import asyncio
import collections
import time
from contextlib import ExitStack
from pathlib import Path

import aiohttp

from data_support import TokenFactory, seed_user
from devtools import ferretdb
from gateway_support import gateway_env, start_gateway
from service_support import service_env, start_service
from support import rss_kib

REQUESTS_PER_HALF = 2500
CONCURRENCY = 64
TIME_LIMIT_SECONDS = 120


async def fire(url: str, token: str, count: int) -> collections.Counter[int]:
    """`count` requests, CONCURRENCY at a time; one in ten is a bad token or a bad page."""
    statuses: collections.Counter[int] = collections.Counter()
    paths = [
        "/api/dnc/list?page=1&limit=10",
        "/api/dnc/list?search=1212&limit=5",
        "/api/dnc/list?page=2",
    ]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    deadline = time.monotonic() + TIME_LIMIT_SECONDS

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty() and time.monotonic() < deadline:
            n = queue.get_nowait()
            path, auth = paths[n % 3], f"Bearer {token}"
            if n % 10 == 7:
                auth = "Bearer not-a-token"
            elif n % 10 == 9:
                path = "/api/dnc/list?page=0"
            async with session.get(url + path, headers={"Authorization": auth}) as response:
                await response.read()
                statuses[response.status] += 1

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
    return statuses


def test_load_and_soak_through_the_gateway(tmp_path: Path, make_token: TokenFactory) -> None:
    with ExitStack() as running:
        database = ferretdb.start(tmp_path / "db")
        running.callback(database.stop)
        user_id = seed_user(database.uri, "dnc", entries=25)
        # One organization sends all the load: its share of the slots is the whole service here
        # (per-organization fairness is tests/integration/test_fairness.py's subject).
        env = service_env(database.uri, "dnc", DNC_MAX_CONCURRENT_RPCS_PER_ORG="256")
        service = running.enter_context(start_service(env, tmp_path / "service.log"))
        gateway_log = tmp_path / "gateway.log"
        gateway = running.enter_context(start_gateway(gateway_env(service.target), gateway_log))
        token = make_token(str(user_id))
        asyncio.run(fire(gateway.url, token, 300))  # warm-up: caches, pools, allocator arenas
        pids = {"gateway": gateway.process.popen.pid, "service": service.process.popen.pid}
        start = {name: rss_kib(pid) for name, pid in pids.items()}
        first = asyncio.run(fire(gateway.url, token, REQUESTS_PER_HALF))
        middle = {name: rss_kib(pid) for name, pid in pids.items()}
        second = asyncio.run(fire(gateway.url, token, REQUESTS_PER_HALF))
        end = {name: rss_kib(pid) for name, pid in pids.items()}
    statuses = first + second
    print(f"statuses {dict(statuses)}; RSS KiB start {start}, middle {middle}, end {end}")
    assert sum(statuses.values()) == 2 * REQUESTS_PER_HALF, "the load did not finish in time"
    assert not [status for status in statuses if status >= 500], statuses
    assert statuses[200] >= 0.75 * 2 * REQUESTS_PER_HALF
    assert set(statuses) <= {200, 400, 401, 429}
    for name in pids:
        # Flat: the second half grows each process by less than 2 MiB (and the first half by
        # less than 8 MiB, allowing allocator warm-up); a leak per request would show here.
        assert end[name] - middle[name] < 2048, (name, start, middle, end)
        assert middle[name] - start[name] < 8192, (name, start, middle, end)
