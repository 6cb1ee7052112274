"""`make bench`: the floor, gRPC, our gateway and grpc-gateway in one run, interleaved rounds.

    python -m bench [--entries N] [--orgs N] [--deep N] [--seconds S] [--rounds R]

Layer costs are measured on a small collection and deep pages on a second database holding one
large organization: FerretDB v1 scans the whole collection for every query (its explain says
`filterPushdown: False`), so on a large collection its noise would hide the layers' costs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path

import grpc
from pymongo import AsyncMongoClient

from bench import dataset, micro, report
from bench.measure import Result, cpu_seconds, ghz, one_at_a_time, percentiles, saturate, wrk
from devtools import ferretdb
from devtools.dev_tokens import issue_dev_token
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_service.page_tokens import PagePosition, PageTokens
from dnc_service.settings import Settings
from dnc_service.store import order
from dnc_service.store.schema import PROJECTION

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".cache" / "bin"
# Databases, logs and the local FerretDB of a run; the smoke test (test_bench_smoke.py) points it
# at a scratch folder, so a tiny run never touches the real run's data.
WORK = Path(os.environ.get("DNC_BENCH_WORK") or ROOT / ".cache" / "bench")
SECRET = "bench-secret-0123456789-abcdefghijklmnop"
LAYERS_DB, DEEP_DB = "dnc_bench", "dnc_bench_deep"
# Which processes' CPU time each target is charged with.
WATCHED = {
    "floor": [],
    "grpc": ["service"],
    "grpc-cached": ["cached-service"],
    "gateway": ["service", "gateway"],
    "grpc-gateway": ["service", "grpc-gateway"],
    "bare-gateway": ["service", "bare-gateway"],
}
# The address key of each REST target's front process.
REST_FRONTS = {"gateway": "http", "grpc-gateway": "peer", "bare-gateway": "bare"}


@contextmanager
def process(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        popen = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield popen
    finally:
        popen.terminate()
        popen.wait(timeout=30)


def database_uri(stack: ExitStack, folder: str = "db") -> str:
    """MONGODB_URI when set, else a FerretDB of the run's own under WORK / `folder`, stopped
    when `stack` closes."""
    uri = os.environ.get("MONGODB_URI")
    if uri:
        return uri
    database = ferretdb.start(WORK / folder)
    stack.callback(database.stop)
    return database.uri


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--entries", type=int, default=200, help="entries of the layer-cost collection"
    )
    parser.add_argument("--orgs", type=int, default=20, help="organizations sharing them")
    parser.add_argument(
        "--deep", type=int, default=10_010, help="entries of the deep-page organization"
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="per target and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--micro-repeat", type=int, default=None, help="calls per timing of the in-process costs"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    return parser.parse_args()


def deep_page_numbers(deep: int) -> tuple[int, ...]:
    """Pages 1, 100 and 1000 of the default deep organization (10,010 entries), scaled down with
    it: each page is a full page of 10."""
    last = max(1, (deep - 10) // 10)
    return tuple(sorted({1, max(1, last // 10), last}))


def main() -> int:
    args = parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        on_ferretdb = not os.environ.get("MONGODB_URI")
        uri = database_uri(stack)
        for name, data in (
            (LAYERS_DB, dataset.Dataset(args.entries, args.orgs)),
            (DEEP_DB, dataset.Dataset(args.deep, 1, dataset.DEEP_ORG)),
        ):
            print(
                f"{name} {data.tag}: {'seeded' if dataset.seed(uri, name, data) else 'reused'}",
                flush=True,
            )

        addr = {
            name: f"127.0.0.1:{free_port()}"
            for name in ("grpc", "grpc-cached", "deep", "http", "peer", "bare")
        }
        env = {"MONGODB_URI": uri, "DNC_JWT_SECRET": SECRET, "DNC_LOG_LEVEL": "WARNING"}
        layers_env = {**env, "DNC_MONGODB_DB": LAYERS_DB, "DNC_GRPC_ADDR": addr["grpc"]}
        pids = {
            "service": stack.enter_context(
                process([sys.executable, "-m", "dnc_service"], layers_env, WORK / "service.log")
            ).pid,
            # The same service with the user -> organization cache on: the fast path's row.
            "cached-service": stack.enter_context(
                process(
                    [sys.executable, "-m", "dnc_service"],
                    {
                        **layers_env,
                        "DNC_GRPC_ADDR": addr["grpc-cached"],
                        "DNC_ORG_CACHE_TTL_SECONDS": "5",
                    },
                    WORK / "cached-service.log",
                )
            ).pid,
            "gateway": stack.enter_context(
                process(
                    [sys.executable, "-m", "gateway"],
                    {**env, "DNC_HTTP_ADDR": addr["http"], "DNC_GRPC_TARGET": addr["grpc"]},
                    WORK / "gateway.log",
                )
            ).pid,
            "grpc-gateway": stack.enter_context(
                process(
                    [
                        str(BIN / "dnc-grpc-gateway"),
                        "-listen",
                        addr["peer"],
                        "-target",
                        addr["grpc"],
                    ],
                    env,
                    WORK / "peer.log",
                )
            ).pid,
            "bare-gateway": stack.enter_context(
                process(
                    [sys.executable, "-m", "bench.bare_gateway"],
                    {"LISTEN": addr["bare"], "TARGET": addr["grpc"]},
                    WORK / "bare.log",
                )
            ).pid,
        }
        stack.enter_context(
            process(
                [sys.executable, "-m", "dnc_service"],
                {**env, "DNC_MONGODB_DB": DEEP_DB, "DNC_GRPC_ADDR": addr["deep"]},
                WORK / "deep.log",
            )
        )
        for front in ("http", "bare"):  # grpc-gateway has no /healthz; the warm-up waits
            wait_http(f"http://{addr[front]}/healthz")
        settings = Settings.from_env(env)
        results = asyncio.run(measure(args, uri, addr, pids, settings))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    command = report.command_line("make bench", "bench")
    # The other commands' sections (report.SECTION_MARKERS) are kept.
    report.write_head(args.out, report.render(results, args, machine, command, on_ferretdb))
    print(f"wrote {args.out}")
    return 0


async def measure(
    args: argparse.Namespace,
    uri: str,
    addr: dict[str, str],
    pids: dict[str, int],
    settings: Settings,
) -> dict[str, list[Result]]:
    token = issue_dev_token(settings, str(dataset.user_id(0)))
    metadata = (("authorization", f"Bearer {token}"),)
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(uri)
    entries = client[LAYERS_DB].dnc_entries
    where = {"orgId": dataset.org_id(0)}

    async def floor() -> None:
        await asyncio.gather(
            entries.find(where, PROJECTION, sort=order.SORT, limit=11).to_list(),
            entries.count_documents(where),
        )

    results: dict[str, list[Result]] = {}
    request = dnc_pb2.ListDncRequest(page=1, limit=10)
    async with (
        grpc.aio.insecure_channel(addr["grpc"]) as channel,
        grpc.aio.insecure_channel(addr["grpc-cached"]) as cached_channel,
    ):
        stubs = {
            "grpc": dnc_pb2_grpc.DncServiceStub(channel),
            "grpc-cached": dnc_pb2_grpc.DncServiceStub(cached_channel),
        }
        calls: dict[str, Callable[[], Awaitable[object]]] = {"floor": floor}
        for name, stub in stubs.items():
            calls[name] = partial(stub.ListDnc, request, metadata=metadata)
            await calls[name]()  # fail early, not in the middle of a round
        for round_number in range(args.rounds):
            print(f"round {round_number + 1}/{args.rounds}", flush=True)
            for name in report.TARGETS:
                result = await measure_target(name, args, addr, pids, token, calls)
                results.setdefault(name, []).append(result)
                print(f"  {name:13} {result}", flush=True)
    repeat = {} if args.micro_repeat is None else {"repeat": args.micro_repeat}
    for name, microseconds in micro.rendering_microseconds(**repeat).items():
        results[f"render: {name}"] = [Result(microseconds / 1000, 0.0, 0.0, {})]
        print(f"  render a 10-entry page, {name}: {microseconds:.1f} us", flush=True)
    for name, microseconds in micro.validation_microseconds(**repeat).items():
        results[f"validate: {name}"] = [Result(microseconds / 1000, 0.0, 0.0, {})]
        print(f"  validate a ListDnc request, {name}: {microseconds:.1f} us", flush=True)
    results.update(await deep_pages(args, client, addr["deep"], settings))
    await client.close()
    return results


async def measure_target(
    name: str,
    args: argparse.Namespace,
    addr: dict[str, str],
    pids: dict[str, int],
    token: str,
    calls: dict[str, Callable[[], Awaitable[object]]],
) -> Result:
    """One-at-a-time latency, then throughput with the CPU the watched processes spent on it."""
    headers = {"Authorization": f"Bearer {token}"}
    url = f"http://{addr[REST_FRONTS.get(name, 'http')]}/api/dnc/list?page=1&limit=10"
    if name in calls:
        p50, p99 = percentiles(await one_at_a_time(calls[name], args.seconds))
    else:
        _, p50, p99 = await asyncio.to_thread(wrk, url, headers, 1, args.seconds)
    before = {process: cpu_seconds(pids[process]) for process in WATCHED[name]}
    if name == "floor":
        rps = await saturate(calls[name], args.concurrency, args.seconds)
    elif name in calls:
        data: dict[str, object] = {"page": 1, "limit": 10}
        rps, _, _ = await asyncio.to_thread(
            ghz, addr[name], token, data, args.concurrency, args.seconds, str(BIN / "ghz")
        )
    else:
        rps, _, _ = await asyncio.to_thread(wrk, url, headers, args.concurrency, args.seconds)
    requests = rps * args.seconds
    cpu = {
        process: (cpu_seconds(pids[process]) - before[process]) * 1000 / requests
        for process in before
    }
    return Result(p50, p99, rps, cpu)


async def deep_pages(
    args: argparse.Namespace,
    client: AsyncMongoClient[dict[str, object]],
    target: str,
    settings: Settings,
) -> dict[str, list[Result]]:
    """Pages 1, 100 and 1000 of the deep organization, by offset and by page token."""
    metadata = (
        (
            "authorization",
            f"Bearer {issue_dev_token(settings, str(dataset.user_id(dataset.DEEP_ORG)))}",
        ),
    )
    entries = client[DEEP_DB].dnc_entries
    where = {"orgId": dataset.org_id(dataset.DEEP_ORG)}
    tokens = PageTokens.from_settings(settings)  # the service's own key, from the same settings
    results: dict[str, list[Result]] = {}
    async with grpc.aio.insecure_channel(target) as channel:
        stub = dnc_pb2_grpc.DncServiceStub(channel)
        for page in deep_page_numbers(args.deep):
            by_token = dnc_pb2.ListDncRequest(limit=10)
            if page > 1:
                # The token a client would hold after walking to page - 1.
                [last] = await entries.find(
                    where, {"createdAt": 1}, sort=order.SORT, skip=(page - 1) * 10 - 1, limit=1
                ).to_list()
                key = order.key_of(last)
                before = PagePosition.at_page(page - 1, 10)
                position = before.next(10, key.entry_id, key.created_at) if key else before.next(10)
                by_token.page_token = tokens.encode(position, str(where["orgId"]), "")
            for style, request in (
                ("offset", dnc_pb2.ListDncRequest(page=page, limit=10)),
                ("keyset", by_token),
            ):
                response = await stub.ListDnc(request, metadata=metadata)
                if (response.pagination.page, len(response.dnc_list)) != (page, 10):
                    raise RuntimeError(f"{style} page {page} is not a full page {page}")

                async def call(request: dnc_pb2.ListDncRequest = request) -> None:
                    await stub.ListDnc(request, metadata=metadata)

                p50, p99 = percentiles(await one_at_a_time(call, args.seconds))
                results[f"{style} page {page}"] = [Result(p50, p99, 0.0, {})]
                print(f"  {style} page {page:4}: p50 {p50:8.2f} ms", flush=True)
    return results


if __name__ == "__main__":
    sys.exit(main())
