"""The audit's invariant, checked on what is in the database: every change has exactly one
record and no record claims a change that did not happen."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from collections.abc import Iterable

from bson import ObjectId
from pymongo.database import Database

from data_support import Document
from support import ROOT


def audit_problems(
    db: Database[Document], org_id: ObjectId, settled: bool = True, added: Iterable[ObjectId] = ()
) -> list[str]:
    """What breaks the invariant in `org_id`'s data; empty when whole.

    Entries the service added carry `addedBy` and need their add record; `added` names entries
    known to have been added by the service that may be gone now. With `settled`, no change
    may still be half-done (markers, pending records): recovery has run.
    """
    entries = {row["_id"]: row for row in db.dnc_entries.find({"orgId": org_id})}
    records = list(db.dnc_audit.find({"orgId": org_id}))
    adds = collections.Counter(r["entryId"] for r in records if r["action"] == "add")
    ends = collections.Counter(r["entryId"] for r in records if r["action"] != "add")
    problems = [f"{n} add records of {i}" for i, n in adds.items() if n > 1]
    problems += [f"{n} end records of {i}" for i, n in ends.items() if n > 1]
    problems += [f"end record of present entry {i}" for i in ends if i in entries]
    serviced = {i for i, row in entries.items() if "addedBy" in row} | set(added)
    problems += [f"entry {i} added without record" for i in serviced if not adds[i]]
    problems += [
        f"entry {i} gone without end record" for i in adds if i not in entries and not ends[i]
    ]
    if settled:
        problems += [f"marker left on {i}" for i, row in entries.items() if "auditPending" in row]
        problems += [f"pending record {r['_id']}" for r in records if r.get("pending")]
    return problems


def run_recover(env: dict[str, str]) -> str:
    """`python -m dnc_service recover` with `env`; its standard output (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-m", "dnc_service", "recover"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout
