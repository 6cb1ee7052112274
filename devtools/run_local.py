"""`make run`: a local database (unless MONGODB_URI is set), demo data, the service, the gateway."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devtools import _CACHE, ferretdb
from devtools.demo import DEMO_USER_ID, seed_demo
from devtools.dev_tokens import issue_dev_token
from dnc_service.settings import Settings

DEV_SECRET = "dev-only-secret-change-me-0123456789abcdef"
GRPCURL = _CACHE / "bin" / "grpcurl"


def wait_serving(
    target: str, processes: list[subprocess.Popen[bytes]], timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in processes):
                raise SystemExit("a process exited during start-up; see its log above")
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    raise SystemExit(f"the gRPC service at {target} did not become SERVING in {timeout}s")


def main() -> int:
    env = dict(os.environ)
    env.setdefault("DNC_JWT_SECRET", DEV_SECRET)
    database = None
    if not env.get("MONGODB_URI"):
        data_dir = Path(env.get("DNC_LOCAL_DATA_DIR", _CACHE / "ferretdb-data"))
        port = int(env.get("DNC_LOCAL_MONGO_PORT", "27017"))
        database = ferretdb.start(data_dir, port)
        env["MONGODB_URI"] = database.uri
        print(f"FerretDB (SQLite in {data_dir}) on {database.uri}", flush=True)
    settings = Settings.from_env(env)
    seed_demo(settings)
    http_addr = env.get("DNC_HTTP_ADDR", "127.0.0.1:8080")
    env.setdefault("DNC_GRPC_TARGET", settings.grpc_addr)
    env.setdefault("DNC_DRAIN_SECONDS", "0")  # one local replica: no one to move calls to
    processes = [
        subprocess.Popen([sys.executable, "-m", module], env=env)
        for module in ("dnc_service", "gateway")
    ]
    stop = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        wait_serving(settings.grpc_addr, processes)
        token = issue_dev_token(settings, str(DEMO_USER_ID), ttl_seconds=24 * 3600)
        header = shlex.quote(f"authorization: Bearer {token}")
        grpcurl = (
            f"{shlex.quote(str(GRPCURL))} -plaintext -H {header}"
            f' -d \'{{"page":1,"limit":10}}\' {settings.grpc_addr} dnc.v1.DncService/ListDnc'
        )
        curl = (
            f"curl -s 'http://{http_addr}/api/dnc/list?page=1&limit=10&search=1212'"
            f" -H {shlex.quote('Authorization: Bearer ' + token)}"
        )
        print(
            f"\nDNC service ready (demo user {DEMO_USER_ID}; token valid 24 h).\n"
            f"DEV TOKEN: {token}\n\ngRPC:\nGRPCURL: {grpcurl}\n\n"
            f"REST:\nCURL: {curl}\n\nCtrl-C stops.",
            flush=True,
        )
        while not stop and all(process.poll() is None for process in processes):
            time.sleep(0.2)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        if database is not None:
            database.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
