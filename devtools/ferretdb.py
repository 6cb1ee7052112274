"""A local MongoDB-compatible server: FerretDB v1 on SQLite, built by `make tools`."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient

from devtools import _CACHE

FERRETDB_BIN = _CACHE / "bin" / "ferretdb"


@dataclass
class FerretDB:
    """One running FerretDB process and the URI that reaches it."""

    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(data_dir: Path, port: int | None = None, timeout_seconds: float = 30.0) -> FerretDB:
    """Start FerretDB on 127.0.0.1:`port`, its SQLite files in `data_dir`; wait until it answers."""
    if not FERRETDB_BIN.exists():
        raise FileNotFoundError(f"{FERRETDB_BIN} is missing: run 'make tools'")
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    log_path = data_dir / "ferretdb.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                str(FERRETDB_BIN),
                "--handler=sqlite",
                f"--sqlite-url=file:{data_dir}/",
                f"--listen-addr=127.0.0.1:{port}",
                "--telemetry=disable",
                "--debug-addr=127.0.0.1:0",
                f"--state-dir={data_dir}",
                "--log-level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    ferret = FerretDB(process, port, data_dir)
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ferretdb exited with {process.returncode}; see {log_path}")
        try:
            client: MongoClient[dict[str, object]]
            with MongoClient(ferret.uri, serverSelectionTimeoutMS=500) as client:
                client.admin.command("ping")
            return ferret
        except Exception:
            time.sleep(0.2)
    ferret.stop()
    raise TimeoutError(f"ferretdb did not answer on port {port} within {timeout_seconds}s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
