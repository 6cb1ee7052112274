"""The local FerretDB survives queries cut by their time limit, as a short gRPC deadline cuts them.

FerretDB v1.24.2's own SQLite driver left the pooled connection of a query cut just as its first
row came back interrupted for good: every later command on it failed `interrupted (9)`, and one
1 ms deadline test took down the rest of a CI run. The Makefile builds FerretDB with a driver that
closes the statement; these tests fail on the old build.
"""

from __future__ import annotations

import random
import re
import subprocess
import threading
import time
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from devtools import ferretdb
from support import ROOT

FIXED_DRIVER = (1, 40, 1)


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.lstrip("v").split("."))


def test_ferretdb_is_built_with_the_sqlite_driver_the_makefile_names() -> None:
    named = re.search(r"^FERRETDB_SQLITE_DRIVER := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert named is not None
    assert version(named.group(1)) >= FIXED_DRIVER
    build_info = subprocess.run(
        ["go", "version", "-m", str(ferretdb.FERRETDB_BIN)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    linked = re.search(r"^\s+dep\s+modernc\.org/sqlite\s+(\S+)", build_info, re.M)
    assert linked is not None, build_info
    assert linked.group(1) == named.group(1)


def test_queries_cut_by_their_time_limit_leave_every_connection_usable(tmp_path: Path) -> None:
    """Eight clients for 6 s, each query given 1-3 ms; then every command still answers."""
    server = ferretdb.start(tmp_path / "db")
    client: MongoClient[dict[str, object]] = MongoClient(server.uri, maxPoolSize=16)
    try:
        entries = client.storm.entries
        entries.insert_many([{"orgId": n % 7, "n": n} for n in range(300)])
        answered, cut = [0], [0]
        stop = time.monotonic() + 6

        def storm() -> None:
            while time.monotonic() < stop:
                try:
                    org, limit = random.randrange(7), random.choice([1, 1, 2, 3])
                    entries.find({"orgId": org}, max_time_ms=limit).limit(5).to_list()
                    answered[0] += 1
                except PyMongoError:
                    cut[0] += 1

        clients = [threading.Thread(target=storm) for _ in range(8)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        # Both sides of the limit were reached.
        assert answered[0] > 0
        assert cut[0] > 0

        failures = []
        for n in range(100):
            try:
                client.storm.after.insert_one({"n": n})
                entries.find_one({"orgId": n % 7})
            except PyMongoError as error:
                failures.append(str(error))
        assert failures == []
    finally:
        client.close()
        server.stop()
