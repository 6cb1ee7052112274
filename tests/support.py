"""Running real processes in tests: free ports, subprocesses, their logs and metrics, polling."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import grpc
from google.rpc import error_details_pb2  # type: ignore[import-untyped]  # ships no stubs
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
GRPCURL = ROOT / ".cache" / "bin" / "grpcurl"
JWT_SECRET = "test-secret-0123456789-abcdefghijklmnop"

# Prometheus samples by (name, sorted labels).
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def refusal_details(error: Any) -> tuple[str, int, str | None]:
    """Of an admission refusal (a grpc.RpcError): its ErrorInfo reason, its RetryInfo delay in
    milliseconds and its retry-pushback trailer."""
    status = rpc_status.from_call(error)
    assert status is not None, f"no status details: {error.trailing_metadata()}"
    info, retry = error_details_pb2.ErrorInfo(), error_details_pb2.RetryInfo()
    for detail in status.details:
        for kind in (info, retry):
            if detail.Is(kind.DESCRIPTOR):
                detail.Unpack(kind)
    trailers: dict[str, Any] = dict(error.trailing_metadata() or ())
    return info.reason, retry.retry_delay.ToMilliseconds(), trailers.get("grpc-retry-pushback-ms")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], timeout: float = 20.0, interval: float = 0.1) -> None:
    """Poll `condition` until it holds; fail the test with a clear message when it never does.

    The one readiness poll of the tests: they wait for an event, never for a fixed time.
    """
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s: {condition}")
        time.sleep(interval)


def grpcurl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real grpcurl (installed by `make tools`) with `args` (and `stdin`, for -d @)."""
    assert GRPCURL.exists(), "grpcurl is missing: run 'make tools'"
    return subprocess.run(
        [str(GRPCURL), *args], input=stdin, capture_output=True, text=True, timeout=30,
        check=False,
    )  # fmt: skip


def health_status(
    target: str,
    service: str = "",
    timeout: float = 1.0,
    credentials: grpc.ChannelCredentials | None = None,
) -> str:
    """The grpc.health.v1 status name of `service` at `target`, or the RPC's error code name."""
    channel = (
        grpc.insecure_channel(target)
        if credentials is None
        else grpc.secure_channel(target, credentials)
    )
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as error:
            return str(error.code().name)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


def scrape(metrics_addr: str) -> Samples:
    """Every sample a process's Prometheus endpoint at `host:port` shows right now."""
    with urllib.request.urlopen(f"http://{metrics_addr}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


class Stoppable:
    """A context manager for what a test starts: leaving the block stops it, whatever happened."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def rss_kib(pid: int) -> int:
    """A process's resident memory now, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Process(Stoppable):
    """A real `python -m <module>` subprocess with its output kept in a file for assertions."""

    def __init__(self, module: str, env: Mapping[str, str], log_path: Path) -> None:
        self.module = module
        self.env = dict(env)
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", module],
                env={**os.environ, **self.env},
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def json_lines(self, **fields: object) -> list[dict[str, Any]]:
        """The process's own log lines, each one JSON object (gRPC's C core may add plain ones),
        keeping those with all of `fields`, e.g. `json_lines(request_id=...)`."""
        log = self.log()
        written = log[: log.rfind("\n") + 1]  # not a line still being written
        lines = [json.loads(text) for text in written.splitlines() if text.startswith("{")]
        assert all(isinstance(line, dict) for line in lines), lines
        return [line for line in lines if all(line.get(k) == v for k, v in fields.items())]

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait; returns the exit code (and kills the process if it does not end)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        finally:
            self.kill()

    def stop(self) -> None:
        self.terminate()

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()

    def wait_ready(self, ready: Callable[[], bool], timeout: float = 30.0) -> None:
        """Poll `ready` while the process lives; kill it if it never gets there."""

        def alive_and_ready() -> bool:
            self.assert_alive()
            return ready()

        try:
            wait_until(alive_and_ready, timeout=timeout)
        except BaseException:
            self.kill()
            raise

    def assert_alive(self) -> None:
        code = self.popen.poll()
        assert code is None, f"{self.module} exited with {code}:\n{self.log()}"


@contextlib.asynccontextmanager
async def serving(
    service: str, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
) -> AsyncIterator[str]:
    """A grpc.aio server in this process for one service's handlers, reporting health SERVING;
    yields its 127.0.0.1:PORT target."""
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)
