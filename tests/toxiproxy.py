"""A real toxiproxy between the service and the database, driven through its HTTP API."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from support import ROOT, free_port, wait_until

TOXIPROXY = ROOT / ".cache" / "bin" / "toxiproxy-server"


class Toxiproxy:
    """One toxiproxy-server on loopback with one proxy, `database`, in front of `upstream`."""

    def __init__(self, upstream: str, log_path: Path) -> None:
        assert TOXIPROXY.exists(), "toxiproxy-server is missing: run 'make tools'"
        self.api = f"http://127.0.0.1:{free_port()}"
        self.listen = f"127.0.0.1:{free_port()}"
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(TOXIPROXY), "-host", "127.0.0.1", "-port", self.api.rsplit(":", 1)[1]],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until(self._up, timeout=10)
            proxy = {"name": "database", "listen": self.listen, "upstream": upstream}
            self._call("POST", "/proxies", proxy)
        except BaseException:
            self.stop()
            raise

    def _up(self) -> bool:
        try:
            self._call("GET", "/version")
        except OSError:
            return False
        return True

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=5) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def add_toxic(self, name: str, kind: str, **attributes: int) -> None:
        """E.g. latency (latency=ms), timeout (timeout=0: black hole), reset_peer."""
        toxic = {"name": name, "type": kind, "stream": "downstream", "attributes": attributes}
        self._call("POST", "/proxies/database/toxics", toxic)

    def remove_toxic(self, name: str) -> None:
        self._call("DELETE", f"/proxies/database/toxics/{name}")

    def set_enabled(self, enabled: bool) -> None:
        """Disabled: every connection is cut and new ones are refused."""
        self._call("POST", "/proxies/database", {"enabled": enabled})

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within ten seconds."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
