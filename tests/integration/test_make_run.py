"""`make run` (devtools.run_local) from scratch: the lines it prints work as printed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from support import ROOT, free_port, wait_until


def test_make_run_prints_working_grpcurl_and_curl_lines(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "MONGODB_URI"}
    env |= {
        "DNC_LOCAL_DATA_DIR": str(tmp_path / "db"),
        "DNC_LOCAL_MONGO_PORT": str(free_port()),
        "DNC_GRPC_ADDR": f"127.0.0.1:{free_port()}",
        "DNC_HTTP_ADDR": f"127.0.0.1:{free_port()}",
    }
    with (tmp_path / "run.log").open("wb") as log:
        run = subprocess.Popen(
            [sys.executable, "-m", "devtools.run_local"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    printed: dict[str, str] = {}

    def read_stdout() -> None:
        assert run.stdout is not None
        for line in run.stdout:
            label, _, rest = line.partition(": ")
            if label in ("GRPCURL", "CURL"):
                printed[label] = rest.strip()

    def both_printed() -> bool:
        assert run.poll() is None, f"run_local ended early:\n{(tmp_path / 'run.log').read_text()}"
        return "CURL" in printed

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    try:
        wait_until(both_printed, timeout=60)
        grpc_out = subprocess.run(
            printed["GRPCURL"], shell=True, capture_output=True, text=True, timeout=30
        )
        assert grpc_out.returncode == 0, grpc_out.stderr
        assert json.loads(grpc_out.stdout)["pagination"]["total"] == 50  # the demo entries
        rest_out = subprocess.run(
            printed["CURL"], shell=True, capture_output=True, text=True, timeout=30
        )
        body = json.loads(rest_out.stdout)
        assert (body["status"], body["message"]) == (True, "DNC list fetched successfully")
        assert body["data"]["pagination"]["total"] > 0
        assert all("1212" in entry["phoneNumber"] for entry in body["data"]["dncList"])
    finally:
        run.send_signal(signal.SIGTERM)
        try:
            code = run.wait(timeout=60)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
            reader.join(timeout=10)
            assert run.stdout is not None
            run.stdout.close()
    assert code == 0
