"""What a killed service or a lost database leaves half-done is completed once the service runs
again (at start-up, in its sweep, or by `python -m dnc_service recover`), exactly once; and an
expired entry is expired as a recorded change, after which its number can be added again.

Each test has a database of its own: the session's service sweeps the shared one.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import pytest
from audit_support import audit_problems, run_recover
from bson import ObjectId
from fault_support import build_stack
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database

from data_support import Document, Org, TokenFactory, seed_org
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_service.store.audit_records import record_id
from service_support import Service, service_env, start_service
from support import wait_until

NOW = datetime.now(UTC).replace(microsecond=0)
ADDED = dnc_pb2.BATCH_ADD_STATUS_ADDED


@pytest.fixture
def own_db(mongo_uri: str) -> Iterator[Database[Document]]:
    client: MongoClient[Document] = MongoClient(mongo_uri, tz_aware=True)
    db = client[f"dnc_audit_{uuid.uuid4().hex[:12]}"]
    try:
        yield db
    finally:
        client.drop_database(db.name)
        client.close()


def entry(org: Org, phone: str, **fields: Any) -> Document:
    """A row as the service writes it (addedBy: its add needs a record)."""
    return {
        "_id": ObjectId(),
        "orgId": org.org_id,
        "phoneNumber": phone,
        "phoneE164": f"+{phone}",
        "createdAt": NOW - timedelta(hours=1),
        "addedBy": str(org.user_id),
        **fields,
    }


def add_record(row: Document) -> Document:
    return {
        "_id": record_id(row["_id"], "add"),
        "orgId": row["orgId"],
        "action": "add",
        "entryId": row["_id"],
        "phoneE164": row["phoneE164"],
        "actor": row["addedBy"],
        "requestId": None,
        "at": row["createdAt"],
    }


def test_recover_completes_half_done_changes_exactly_once(
    mongo_uri: str, own_db: Database[Document]
) -> None:
    org = seed_org(own_db)
    marked = entry(
        org,
        "12125558001",
        source="call",
        auditPending={"at": NOW, "requestId": "req-1", "actor": str(org.user_id)},
    )  # killed after the insert, before the record
    removing = entry(org, "12125558002")  # killed after the pending record, before the delete
    expired = entry(org, "12125558003", expiresAt=NOW - timedelta(minutes=5))
    own_db.dnc_entries.insert_many([marked, removing, expired])
    pending = {
        **add_record(removing),
        "_id": record_id(removing["_id"], "remove"),
        "action": "remove",
        "at": NOW,
        "pending": True,
    }
    own_db.dnc_audit.insert_many([add_record(removing), add_record(expired), pending])
    assert audit_problems(own_db, org.org_id)  # what a crash leaves

    env = service_env(mongo_uri, own_db.name)
    out = run_recover(env)
    assert f"add record of entry {marked['_id']} completed" in out
    assert f"removal of entry {removing['_id']} completed" in out
    assert out.splitlines()[-1] == (
        "recover: 1 missing add record(s) written, 1 removal(s) completed, 1 entr(ies) expired "
        # The expiry settles its own record; the one pending record is the crash's.
        "(1 marker(s) and 1 pending record(s) cleared)"
    )
    assert audit_problems(own_db, org.org_id) == []
    added = own_db.dnc_audit.find_one({"entryId": marked["_id"]})
    assert added is not None
    assert (added["actor"], added["requestId"], added["source"]) == (
        str(org.user_id),
        "req-1",
        "call",
    )
    assert added["at"] == marked["createdAt"]
    expiry = own_db.dnc_audit.find_one({"entryId": expired["_id"], "action": "expire"})
    assert expiry is not None
    assert (expiry["actor"], expiry["requestId"]) == ("system", None)
    assert expiry["at"] == expired["expiresAt"]
    assert own_db.dnc_entries.count_documents({}) == 1  # only the marked entry stays

    again = run_recover(env)
    assert again.splitlines() == [
        "recover: 0 missing add record(s) written, 0 removal(s) completed, 0 entr(ies) expired "
        "(0 marker(s) and 0 pending record(s) cleared)"
    ]
    assert own_db.dnc_audit.count_documents({}) == 5


@pytest.fixture
def service(mongo_uri: str, own_db: Database[Document], tmp_path: Path) -> Iterator[Service]:
    env = service_env(mongo_uri, own_db.name, DNC_AUDIT_SWEEP_SECONDS="3600")
    with start_service(env, tmp_path / "service.log") as started:
        yield started


def test_an_expired_number_can_be_added_again(service: Service, own_db: Database[Document]) -> None:
    org = seed_org(own_db)
    old = entry(org, "12125558011", expiresAt=NOW - timedelta(minutes=1))
    old_batch = entry(org, "12125558012", expiresAt=NOW - timedelta(minutes=1))
    own_db.dnc_entries.insert_many([old, old_batch])
    own_db.dnc_audit.insert_many([add_record(old), add_record(old_batch)])
    with grpc.insecure_channel(service.target) as channel:
        stub = dnc_pb2_grpc.DncServiceStub(channel)
        new = stub.AddDnc(
            dnc_pb2.AddDncRequest(phone_number="12125558011"), metadata=org.metadata, timeout=10
        ).entry
        assert new.id != str(old["_id"])
        batch = stub.BatchAddDnc(
            dnc_pb2.BatchAddDncRequest(
                entries=[
                    dnc_pb2.AddDncRequest(phone_number=phone)
                    for phone in ("12125558012", "12125558011")
                ]
            ),
            metadata=org.metadata,
            timeout=10,
        )
    first, second = batch.results
    assert (first.status, second.status) == (ADDED, dnc_pb2.BATCH_ADD_STATUS_ALREADY_LISTED)
    assert first.entry_id != str(old_batch["_id"])
    assert second.entry_id == new.id
    wait_until(lambda: not audit_problems(own_db, org.org_id, settled=False))
    actions = {(r["entryId"], r["action"]) for r in own_db.dnc_audit.find({"orgId": org.org_id})}
    assert actions == {
        (old["_id"], "add"),
        (old["_id"], "expire"),
        (ObjectId(new.id), "add"),
        (old_batch["_id"], "add"),
        (old_batch["_id"], "expire"),
        (ObjectId(first.entry_id), "add"),
    }


def test_the_sweep_expires_due_entries_on_its_own(
    mongo_uri: str, own_db: Database[Document], tmp_path: Path
) -> None:
    org = seed_org(own_db)
    env = service_env(mongo_uri, own_db.name, DNC_AUDIT_SWEEP_SECONDS="0.2")
    with start_service(env, tmp_path / "service.log"):
        due = entry(org, "12125558021", expiresAt=NOW - timedelta(seconds=1))
        later = entry(org, "12125558022", expiresAt=NOW + timedelta(days=1))
        own_db.dnc_entries.insert_many([due, later])
        own_db.dnc_audit.insert_many([add_record(due), add_record(later)])
        wait_until(lambda: own_db.dnc_entries.count_documents({"_id": due["_id"]}) == 0)
    [expiry] = own_db.dnc_audit.find({"action": "expire"})
    assert (expiry["entryId"], expiry["at"]) == (due["_id"], due["expiresAt"])
    assert audit_problems(own_db, org.org_id) == []
    assert own_db.dnc_entries.count_documents({"_id": later["_id"]}) == 1


class Writers:
    """Threads adding, batch-adding and removing through one service until it goes away."""

    def __init__(self, stub: dnc_pb2_grpc.DncServiceStub, org: Org) -> None:
        self.stub, self.org = stub, org
        self.calls = 0
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._loop, args=(kind, n))
            for n, kind in enumerate(["add", "add", "batch", "remove", "remove"])
        ]

    def _loop(self, kind: str, n: int) -> None:
        for i in range(100_000):
            base = f"1212{5 + n}{i:05d}"  # + 1 digit: 11 digits, a possible NANP number
            try:
                self._one(kind, base)
            except grpc.RpcError:
                return  # the service is gone
            with self._lock:
                self.calls += 1

    def _one(self, kind: str, number: str) -> None:
        metadata, stub = self.org.metadata, self.stub
        if kind == "batch":
            items = [dnc_pb2.AddDncRequest(phone_number=f"{number}{k}") for k in range(10)]
            stub.BatchAddDnc(
                dnc_pb2.BatchAddDncRequest(entries=items), metadata=metadata, timeout=10
            )
            return
        request = dnc_pb2.AddDncRequest(phone_number=number + "0")
        added = stub.AddDnc(request, metadata=metadata, timeout=10).entry
        if kind == "remove":
            stub.RemoveDnc(dnc_pb2.RemoveDncRequest(id=added.id), metadata=metadata, timeout=10)

    def __enter__(self) -> Writers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        for thread in self._threads:
            thread.join(timeout=60)


def test_sigkill_amid_concurrent_writers_then_restart_leaves_a_whole_audit(
    mongo_uri: str, own_db: Database[Document], tmp_path: Path
) -> None:
    org = seed_org(own_db)
    env = service_env(mongo_uri, own_db.name, DNC_AUDIT_SWEEP_SECONDS="3600")
    service = start_service(env, tmp_path / "killed.log")
    with (
        grpc.insecure_channel(service.target) as channel,
        Writers(dnc_pb2_grpc.DncServiceStub(channel), org) as writers,
    ):
        wait_until(lambda: writers.calls >= 60, timeout=60)
        service.process.kill()  # SIGKILL: no drain, no clean-up
    assert own_db.dnc_entries.count_documents({"orgId": org.org_id}) > 0
    with start_service(env, tmp_path / "restarted.log") as restarted:
        # SERVING only after the start-up recovery: the audit is whole at once (markers and
        # pending flags, mere bookkeeping, are left to the sweep).
        assert audit_problems(own_db, org.org_id, settled=False) == []
    assert "audit recovery (start-up)" in restarted.process.log()
    # The start-up did every change; what is left is clearing the markers.
    assert run_recover(env).startswith("recover: 0 missing add record(s) written, 0 removal(s)")
    assert audit_problems(own_db, org.org_id) == []
    assert own_db.dnc_audit.count_documents({"action": "remove"}) > 0


def test_a_database_lost_between_change_and_record_is_completed_by_the_sweep(
    tmp_path: Path, make_token: TokenFactory
) -> None:
    """The database answers late (latency), and is cut as soon as the change is in it: the
    call fails, its record (add) or its delete (remove) is missing, until the sweep runs."""
    with (
        build_stack(
            tmp_path, make_token, DNC_AUDIT_SWEEP_SECONDS="0.3", DNC_AUDIT_SWEEP_GRACE_SECONDS="1"
        ) as stack,
        MongoClient[Document](stack.direct_uri, tz_aware=True) as client,
    ):
        db = client["dnc"]
        org_id = (db.users.find_one() or {})["orgId"]
        kept = stack.stub.AddDnc(
            dnc_pb2.AddDncRequest(phone_number="12125558031"), metadata=stack.metadata, timeout=10
        ).entry
        add = dnc_pb2.AddDncRequest(phone_number="12125558032")
        remove = dnc_pb2.RemoveDncRequest(id=kept.id)
        for call, request, collection, written in (
            (stack.stub.AddDnc, add, db.dnc_entries, {"phoneE164": "+12125558032"}),
            (stack.stub.RemoveDnc, remove, db.dnc_audit, {"action": "remove"}),
        ):
            stack.proxy.add_toxic("slow", "latency", latency=600)
            with ThreadPoolExecutor(max_workers=1) as pool:
                code = pool.submit(call_code, call, request, stack.metadata)
                wait_until(partial(written_in, collection, written), interval=0.01)
                stack.proxy.set_enabled(False)
                assert code.result(timeout=30) != grpc.StatusCode.OK
            assert audit_problems(db, org_id, settled=False)  # the record or the delete missing
            stack.proxy.remove_toxic("slow")
            stack.proxy.set_enabled(True)
            wait_until(lambda: not audit_problems(db, org_id), timeout=30)
        assert db.dnc_entries.count_documents({"_id": ObjectId(kept.id)}) == 0


def written_in(collection: Collection[Document], query: Document) -> bool:
    return collection.count_documents(query) > 0


def call_code(call: Any, request: Any, metadata: Any) -> grpc.StatusCode:
    try:
        call(request, metadata=metadata, timeout=15)
    except grpc.RpcError as error:
        code: grpc.StatusCode = error.code()
        return code
    return grpc.StatusCode.OK


def test_a_start_up_looks_only_past_the_last_start_ups_checkpoint(
    mongo_uri: str, own_db: Database[Document], tmp_path: Path
) -> None:
    """Was: markers pile up until a sweep clears them, and every start-up wrote (or tried) the
    add record of each, so starts slowed with the list; now a start-up resumes where the last
    complete one got (less a margin), and the sweep and `recover` still look at everything."""
    org = seed_org(own_db)

    def marked(phone: str, at: datetime) -> Document:
        return entry(org, phone, auditPending={"at": at, "requestId": None,
                                               "actor": str(org.user_id)})  # fmt: skip

    first = marked("12125558101", NOW - timedelta(minutes=1))
    own_db.dnc_entries.insert_one(first)
    env = service_env(mongo_uri, own_db.name, DNC_AUDIT_SWEEP_SECONDS="3600")
    with start_service(env, tmp_path / "first.log"):
        pass
    assert own_db.dnc_audit.count_documents({"entryId": first["_id"]}) == 1
    [checkpoint] = own_db["dnc_audit_recovery"].find()
    assert checkpoint["at"] >= NOW - timedelta(minutes=1)

    # Marked long before that checkpoint: a start-up leaves it (the previous one would have
    # seen it); marked after it: the next start-up writes its record.
    old = marked("12125558102", NOW - timedelta(days=1))
    new = marked("12125558103", datetime.now(UTC))
    own_db.dnc_entries.insert_many([old, new])
    with start_service(env, tmp_path / "second.log"):
        pass
    assert own_db.dnc_audit.count_documents({"entryId": new["_id"]}) == 1
    assert own_db.dnc_audit.count_documents({"entryId": old["_id"]}) == 0
    out = run_recover(env)
    assert f"add record of entry {old['_id']} completed" in out
    assert out.splitlines()[-1].startswith("recover: 1 missing add record(s) written")
    assert audit_problems(own_db, org.org_id) == []
