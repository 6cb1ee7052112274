"""`python -m bench.tracing`: what tracing costs with no exporter configured, over REST.

    python -m bench.tracing [--seconds S] [--rounds R] [--concurrency C]

Two service + gateway pairs over one database: "off" runs with OTEL_SDK_DISABLED=true (no
instrumentation at all, the code as it was before tracing) and "on" as deployed without an
exporter (trace context continued and propagated, trace ids logged, spans not recorded). Each
round measures both back to back, in alternating order; the report is the median of the rounds'
ratios: throughput and CPU per request (service + gateway, from /proc).
Two workloads: the first page of a listing (bound by the database, FerretDB here) and a request
without a token, which the service refuses before any query, so the two processes' own costs are
all there is. A last row sends a sampled `traceparent`, so every span is recorded, none exported.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass

import aiohttp

from bench import dataset
from bench.__main__ import SECRET, WORK, database_uri, free_port, process, wait_http
from bench.measure import cpu_seconds
from devtools.dev_tokens import issue_dev_token
from dnc_service.settings import Settings

DATABASE = "dnc_bench_tracing"
SAMPLED = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@dataclass
class Stack:
    """One service + gateway pair: its URL and the pids whose CPU it is charged with."""

    url: str
    pids: tuple[int, int]


@dataclass
class Run:
    rps: float
    cpu_ms_per_request: float

    def __str__(self) -> str:
        return f"{self.rps:8.1f} req/s  {self.cpu_ms_per_request:6.3f} CPU ms/req"


def start_stack(stack: ExitStack, name: str, env: dict[str, str]) -> Stack:
    grpc_addr, http_addr = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    service = stack.enter_context(
        process(
            [sys.executable, "-m", "dnc_service"],
            {**env, "DNC_GRPC_ADDR": grpc_addr},
            WORK / f"tracing-{name}-service.log",
        )
    )
    gateway = stack.enter_context(
        process(
            [sys.executable, "-m", "gateway"],
            {**env, "DNC_HTTP_ADDR": http_addr, "DNC_GRPC_TARGET": grpc_addr},
            WORK / f"tracing-{name}-gateway.log",
        )
    )
    wait_http(f"http://{http_addr}/healthz")
    return Stack(f"http://{http_addr}/api/dnc/list?page=1&limit=10", (service.pid, gateway.pid))


async def load(
    stack: Stack, headers: dict[str, str], concurrency: int, seconds: float, status: int = 200
) -> Run:
    """`concurrency` callers sending the same REST request back to back for `seconds`."""
    done = 0
    before = sum(cpu_seconds(pid) for pid in stack.pids)
    async with aiohttp.ClientSession(headers=headers) as session:

        async def caller(end: float) -> None:
            nonlocal done
            while time.perf_counter() < end:
                async with session.get(stack.url) as response:
                    await response.read()
                    if response.status != status:
                        raise RuntimeError(f"{stack.url}: HTTP {response.status}")
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(caller(started + seconds) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    cpu = sum(cpu_seconds(pid) for pid in stack.pids) - before
    return Run(done / elapsed, cpu * 1000 / done)


async def measure(
    args: argparse.Namespace, stacks: dict[str, Stack], token: str
) -> dict[str, list[Run]]:
    auth = {"Authorization": f"Bearer {token}"}
    targets = {
        "list, off": (stacks["off"], auth, 200),
        "list, on": (stacks["on"], auth, 200),
        "refused, off": (stacks["off"], {}, 401),
        "refused, on": (stacks["on"], {}, 401),
        "list, on, sampled traceparent": (stacks["on"], {**auth, "traceparent": SAMPLED}, 200),
    }
    for target, headers, status in targets.values():  # warm up and fail early
        await load(target, headers, 1, 0.5, status)
    runs: dict[str, list[Run]] = {name: [] for name in targets}
    for round_number in range(args.rounds):
        order = list(targets) if round_number % 2 == 0 else list(reversed(targets))
        print(f"round {round_number + 1}/{args.rounds}", flush=True)
        for name in order:
            target, headers, status = targets[name]
            run = await load(target, headers, args.concurrency, args.seconds, status)
            runs[name].append(run)
            print(f"  {name:30} {run}", flush=True)
    return runs


def report(runs: dict[str, list[Run]]) -> str:
    lines = [
        "| workload, tracing | req/s | CPU ms/req | req/s vs off | CPU/req vs off |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, each in runs.items():
        off = runs[name.split(",")[0] + ", off"]
        throughput = statistics.median(r.rps / o.rps for r, o in zip(each, off, strict=True))
        cpu = statistics.median(
            r.cpu_ms_per_request / o.cpu_ms_per_request for r, o in zip(each, off, strict=True)
        )
        lines.append(
            f"| {name} | {statistics.median(r.rps for r in each):.1f} "
            f"| {statistics.median(r.cpu_ms_per_request for r in each):.3f} "
            f"| {throughput:.3f}x | {cpu:.3f}x |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tracing", description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0, help="per stack and round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        uri = database_uri(stack, "tracing-db")
        dataset.seed(uri, DATABASE, dataset.Dataset(200, 20))
        env = {
            "MONGODB_URI": uri,
            "DNC_MONGODB_DB": DATABASE,
            "DNC_JWT_SECRET": SECRET,
            "DNC_LOG_LEVEL": "INFO",  # access lines on: they carry the trace id
        }
        exporters_unset = {name: "" for name in os.environ if name.startswith("OTEL_")}
        stacks = {
            "off": start_stack(stack, "off", {**env, **exporters_unset, "OTEL_SDK_DISABLED": "1"}),
            "on": start_stack(stack, "on", {**env, **exporters_unset}),
        }
        token = issue_dev_token(Settings.from_env(env), str(dataset.user_id(0)))
        runs = asyncio.run(measure(args, stacks, token))
    print(report(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
