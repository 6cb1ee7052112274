"""The audit is exact under deadlines and races: every change has exactly one record, no record
claims a change that did not happen, and concurrent removes of one entry have one winner.

A call cut short by its deadline may still complete its change (shielded): the record then
follows; the tests wait for the database to settle, never for a fixed time.
"""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor

import grpc
from audit_support import audit_problems
from bson import ObjectId
from pymongo.database import Database

from data_support import Document, Org, OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from gateway_support import Gateway
from management_support import add, audit_of, entries_of
from support import wait_until

DEADLINES_MS = range(1, 13)
_numbers = itertools.count(100)


def next_number() -> str:
    """A fresh possible NANP number per call (+1 212 557 xxxx)."""
    return f"1212557{next(_numbers):04d}"


def code_of(call: object, request: object, metadata: object, timeout: float) -> grpc.StatusCode:
    try:
        call(request, metadata=metadata, timeout=timeout)  # type: ignore[operator]  # a stub method
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def settles(mongo_db: Database[Document], org: Org, added: list[ObjectId] | None = None) -> None:
    """Wait until the audit of `org` is whole (changes cut short by deadlines finish); the
    markers the sweep clears later may remain. A change landing between audit_problems' two
    reads can only make it see a problem that is not there, so waiting is sound."""
    wait_until(
        lambda: not audit_problems(mongo_db, org.org_id, settled=False, added=added or []),
        timeout=30,
    )


def test_adds_with_tiny_deadlines_each_leave_exactly_one_record(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    codes = [
        code_of(stub.AddDnc, dnc_pb2.AddDncRequest(phone_number=next_number()), org.metadata,
                ms / 1000)
        for _ in range(3) for ms in DEADLINES_MS
    ]  # fmt: skip
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.DEADLINE_EXCEEDED}
    settles(mongo_db, org)
    assert len(entries_of(mongo_db, org)) >= codes.count(grpc.StatusCode.OK)


def test_removes_with_tiny_deadlines_each_leave_exactly_one_record(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    ids = [ObjectId(add(stub, org, next_number()).id) for _ in DEADLINES_MS]
    for entry_id, ms in zip(ids, DEADLINES_MS, strict=True):
        code = code_of(stub.RemoveDnc, dnc_pb2.RemoveDncRequest(id=str(entry_id)), org.metadata,
                       ms / 1000)  # fmt: skip
        assert code in {grpc.StatusCode.OK, grpc.StatusCode.DEADLINE_EXCEEDED}
    settles(mongo_db, org, ids)  # each removed entry has its record, each record its removal


def test_rest_writes_with_tiny_grpc_timeouts_each_leave_exactly_one_record(
    gateway: Gateway, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    headers = {"Authorization": f"Bearer {org.token}", "Content-Type": "application/json"}
    for ms in DEADLINES_MS:
        body = json.dumps({"phoneNumber": next_number()}).encode()
        reply = gateway.request("/api/dnc/add", "POST", {**headers, "Grpc-Timeout": f"{ms}m"},
                                body=body)  # fmt: skip
        assert reply.status in (200, 504), reply.body
    ids = [row["_id"] for row in entries_of(mongo_db, org)]
    for entry_id, ms in zip(ids, DEADLINES_MS, strict=False):
        reply = gateway.request(f"/api/dnc/delete/{entry_id}", "DELETE",
                                {**headers, "Grpc-Timeout": f"{ms}m"})  # fmt: skip
        assert reply.status in (200, 504), reply.body
    settles(mongo_db, org, ids)


def test_concurrent_removes_of_one_entry_have_one_winner(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(20):
            request = dnc_pb2.RemoveDncRequest(id=add(stub, org, next_number()).id)
            calls = [
                pool.submit(code_of, stub.RemoveDnc, request, org.metadata, 10) for _ in range(8)
            ]
            codes = [call.result() for call in calls]
            assert codes.count(grpc.StatusCode.OK) == 1, codes
            assert codes.count(grpc.StatusCode.NOT_FOUND) == 7, codes
    records = audit_of(mongo_db, org)
    assert [r["action"] for r in records].count("remove") == 20
    assert entries_of(mongo_db, org) == []
    settles(mongo_db, org)


def test_concurrent_batches_of_the_same_numbers_record_each_entry_once(
    stub: dnc_pb2_grpc.DncServiceStub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    numbers = [next_number() for _ in range(200)]
    request = dnc_pb2.BatchAddDncRequest(
        entries=[dnc_pb2.AddDncRequest(phone_number=number) for number in numbers]
    )
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(
            pool.map(lambda _: stub.BatchAddDnc(request, metadata=org.metadata, timeout=60),
                     range(4))
        )  # fmt: skip
    added = [
        r for reply in replies for r in reply.results if r.status == dnc_pb2.BATCH_ADD_STATUS_ADDED
    ]
    assert len(added) == len(numbers) == len(entries_of(mongo_db, org))
    settles(mongo_db, org)
    assert len(audit_of(mongo_db, org)) == len(numbers)
