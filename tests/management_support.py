"""Calling the management RPCs in tests, and reading what they wrote."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import grpc
from bson import ObjectId
from pymongo.database import Database

from data_support import Document, Org, make_token
from dnc.v1 import dnc_pb2, dnc_pb2_grpc


def add(stub: dnc_pb2_grpc.DncServiceStub, org: Org, phone: str, **fields: Any) -> dnc_pb2.DncEntry:
    """AddDnc as `org`'s user; returns the new entry."""
    request = dnc_pb2.AddDncRequest(phone_number=phone, **fields)
    response = stub.AddDnc(request, metadata=org.metadata, timeout=10)
    return response.entry


def rpc_error(call: Any, request: Any, **kwargs: Any) -> grpc.RpcError:
    """The error `call(request)` fails with (the test fails if it succeeds)."""
    try:
        call(request, timeout=10, **kwargs)
    except grpc.RpcError as error:
        return error
    raise AssertionError(f"{request!r} succeeded")


def entries_of(mongo_db: Database[Document], org: Org) -> list[Document]:
    return list(mongo_db.dnc_entries.find({"orgId": org.org_id}).sort("_id", 1))


def audit_of(mongo_db: Database[Document], org: Org) -> list[Document]:
    """`org`'s audit records in the order of their changes (a record's `_id` follows its
    entry's, not the change's time: see dnc_service/store/audit.py)."""
    records = mongo_db.dnc_audit.find({"orgId": org.org_id})
    return list(records.sort([("at", 1), ("entryId", 1)]))


def scoped(org: Org, scope: str | list[str] | None) -> tuple[tuple[str, str], ...]:
    """Metadata for `org`'s user with a token carrying `scope` (None: no scope claim)."""
    return (("authorization", f"Bearer {make_token(str(org.user_id), scope=scope)}"),)


def with_request_id(org: Org, request_id: str) -> tuple[tuple[str, str], ...]:
    return (*org.metadata, ("x-request-id", request_id))


def oid(text: str) -> ObjectId:
    return ObjectId(text)


def scrub_requests(
    chunks: Iterable[list[str]], region: str | None = None
) -> Iterator[dnc_pb2.ScrubDncRequest]:
    for numbers in chunks:
        yield dnc_pb2.ScrubDncRequest(phone_numbers=numbers, region=region)


def scrub(
    stub: dnc_pb2_grpc.DncServiceStub,
    metadata: tuple[tuple[str, str], ...],
    chunks: Iterable[list[str]],
    region: str | None = None,
) -> list[dnc_pb2.ScrubDncResponse]:
    """ScrubDnc of `chunks` (one message each); every response."""
    return list(stub.ScrubDnc(scrub_requests(chunks, region), metadata=metadata, timeout=60))


def import_requests(
    chunks: Iterable[Sequence[dnc_pb2.AddDncRequest | str]],
    dry_run: bool = False,
    region: str | None = None,
) -> Iterator[dnc_pb2.ImportDncRequest]:
    for rows in chunks:
        entries = [
            dnc_pb2.AddDncRequest(phone_number=row) if isinstance(row, str) else row for row in rows
        ]
        yield dnc_pb2.ImportDncRequest(entries=entries, dry_run=dry_run, region=region)


def import_rows(
    stub: dnc_pb2_grpc.DncServiceStub,
    metadata: tuple[tuple[str, str], ...],
    chunks: Iterable[Sequence[dnc_pb2.AddDncRequest | str]],
    dry_run: bool = False,
    region: str | None = None,
) -> dnc_pb2.ImportDncResponse:
    """ImportDnc of `chunks` (rows as numbers or AddDnc requests; one message each)."""
    requests = import_requests(chunks, dry_run, region)
    response: dnc_pb2.ImportDncResponse = stub.ImportDnc(requests, metadata=metadata, timeout=120)
    return response


def rss_bytes(pid: int) -> int:
    """A process's resident memory now, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")
