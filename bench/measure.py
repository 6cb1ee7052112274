"""Measuring a target: one-at-a-time latency percentiles, throughput, server CPU per request."""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    """What one run of one target measured; times in milliseconds."""

    p50_ms: float
    p99_ms: float
    rps: float
    cpu_ms_per_request: dict[str, float]

    def __str__(self) -> str:
        cpu = ", ".join(f"{name} {ms:.3f}" for name, ms in self.cpu_ms_per_request.items())
        latency = f"p50 {self.p50_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms"
        return f"{latency}  {self.rps:8.1f} req/s  CPU ms/req: {cpu}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (includes its threads)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


async def one_at_a_time(call: Callable[[], Awaitable[object]], seconds: float) -> list[float]:
    """Latency of back-to-back calls, for `seconds`."""
    samples: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


async def saturate(
    call: Callable[[], Awaitable[object]], concurrency: int, seconds: float
) -> float:
    """Requests per second with `concurrency` callers for `seconds`."""
    done = 0
    end = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < end:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


_WRK_PERCENTILE = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    url: str, headers: dict[str, str], connections: int, seconds: float
) -> tuple[float, float, float]:
    """(rps, p50 ms, p99 ms) from wrk; fails if any response was not 2xx."""
    command = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw errors:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    marks = {int(p): float(v) * _UNITS[u] for p, v, u in _WRK_PERCENTILE.findall(output)}
    return rps, marks[50], marks[99]


def ghz(
    target: str, token: str, data: dict[str, object], connections: int, seconds: float, binary: str
) -> tuple[float, float, float]:
    """(rps, p50 ms, p99 ms) from ghz over gRPC; fails if any call was not OK."""
    command = [
        binary, "--insecure", "--call", "dnc.v1.DncService/ListDnc", "-d", json.dumps(data),
        "--metadata", json.dumps({"authorization": f"Bearer {token}"}),
        "-c", str(connections), "--connections", str(min(connections, 4)), "-z", f"{seconds}s",
        "--format", "json", target,
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"ghz failed: {run.stderr or run.stdout}")
    report = json.loads(run.stdout)
    codes = dict(report["statusCodeDistribution"])
    ok = codes.pop("OK", 0)
    # With -z, the calls still in flight when time is up are cut off: at most one per caller.
    if sum(codes.values()) > connections or not set(codes) <= {"Unavailable", "Canceled"}:
        raise RuntimeError(f"ghz saw errors: {report['statusCodeDistribution']}")
    marks = {int(d["percentage"]): d["latency"] / 1e6 for d in report["latencyDistribution"]}
    return ok / (report["total"] / 1e9), marks[50], marks[99]
