"""The compliance record (source, reason, requestedAt, expiresAt, addedBy) through the real
service and gateway: each field valid, invalid and absent over gRPC and REST, stored under its
name, rendered in entries and the export (NDJSON keys, CSV columns), other rows unchanged.

The stack runs on the system clock here; times are chosen far from any boundary (the boundaries,
with an injected clock, are test_expiry.py's)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from pymongo.database import Database

from data_support import Document, OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from gateway_support import COMPLIANCE_KEYS, SEED_ENTRY_KEYS, Gateway, Reply, error_envelope
from management_support import add, entries_of, rpc_error
from service_support import Service
from support import grpcurl

ADDED = "Phone number added to DNC successfully"
NEXT_YEAR = datetime.now(UTC).replace(microsecond=0) + timedelta(days=365)
LAST_WEEK = datetime.now(UTC).replace(microsecond=0) - timedelta(days=7)
OFFSET_FORM = "%Y-%m-%dT%H:%M:%S.123456789+02:00"


def stamp(moment: datetime) -> Timestamp:
    timestamp = Timestamp()
    timestamp.FromDatetime(moment)
    return timestamp


def text(moment: datetime) -> str:
    """The gateway's form: UTC with milliseconds."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def post(gateway: Gateway, path: str, token: str, body: Any, **headers: str) -> Reply:
    sent = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers}
    return gateway.request(path, method="POST", headers=sent, body=json.dumps(body).encode())


def data_of(reply: Reply) -> Any:
    assert reply.status == 200, reply.body
    return reply.json()["data"]


# --- gRPC ---


def test_grpc_stores_and_renders_every_field(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    org = new_org()
    entry = add(
        stub, org, "12125557001", source="sms_stop", reason="Texted STOP\nat 9pm",
        requested_at=stamp(LAST_WEEK), expires_at=stamp(NEXT_YEAR),
    )  # fmt: skip
    assert (entry.source, entry.reason, entry.added_by) == (
        "sms_stop", "Texted STOP\nat 9pm", str(org.user_id),
    )  # fmt: skip
    assert (entry.requested_at, entry.expires_at) == (stamp(LAST_WEEK), stamp(NEXT_YEAR))
    [stored] = entries_of(mongo_db, org)
    assert {key: stored[key] for key in COMPLIANCE_KEYS} == {
        "source": "sms_stop", "reason": "Texted STOP\nat 9pm", "requestedAt": LAST_WEEK,
        "expiresAt": NEXT_YEAR, "addedBy": str(org.user_id),
    }  # fmt: skip
    listed = stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=org.metadata, timeout=10)
    assert list(listed.dnc_list) == [entry]
    [exported] = stub.ExportDnc(dnc_pb2.ExportDncRequest(), metadata=org.metadata, timeout=10)
    assert exported == entry
    # CheckResult is unchanged: the entry's id, type and createdAt only.
    check = dnc_pb2.CheckDncRequest(phone_numbers=["12125557001"])
    [result] = stub.CheckDnc(check, metadata=org.metadata, timeout=10).results
    assert (result.listed, result.entry_id) == (True, entry.id)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"source": "s" * 65}, "source"),
        ({"source": "sms\x00stop"}, "source"),
        ({"reason": "r" * 513}, "reason"),
        ({"requested_at": stamp(datetime.now(UTC) + timedelta(hours=1))}, "requested_at"),
        ({"expires_at": stamp(LAST_WEEK)}, "expires_at"),
    ],
)
def test_grpc_refuses_each_bad_field_and_writes_nothing(
    stub: dnc_pb2_grpc.DncServiceStub,
    new_org: OrgFactory,
    mongo_db: Database[Document],
    fields: dict[str, Any],
    field: str,
) -> None:
    org = new_org()
    request = dnc_pb2.AddDncRequest(phone_number="12125557002", **fields)
    error = rpc_error(stub.AddDnc, request, metadata=org.metadata)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith(f"{field} ")
    batch = dnc_pb2.BatchAddDncRequest(
        entries=[dnc_pb2.AddDncRequest(phone_number="12125557003"), request]
    )
    results = stub.BatchAddDnc(batch, metadata=org.metadata, timeout=10).results
    assert results[1].status == dnc_pb2.BATCH_ADD_STATUS_INVALID
    assert results[1].error.startswith(f"entries[1].{field} ")
    assert [row["phoneNumber"] for row in entries_of(mongo_db, org)] == ["12125557003"]


# --- REST ---


def test_rest_add_list_and_export_carry_the_fields(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org(entries=1)  # a row written by another system: it looks exactly as before
    body = {
        "phoneNumber": "+1 212 555 7010", "source": "web_form", "reason": "asked online",
        # Any RFC 3339 time: an offset and nanoseconds are read, UTC milliseconds written.
        "requestedAt": (LAST_WEEK + timedelta(hours=2)).strftime(OFFSET_FORM),
        "expiresAt": NEXT_YEAR.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }  # fmt: skip
    entry = data_of(post(gateway, "/api/dnc/add", org.token, body))
    assert list(entry) == [
        "_id", "phoneNumber", "orgId", "createdAt", *COMPLIANCE_KEYS,
    ]  # fmt: skip
    assert (entry["source"], entry["reason"], entry["addedBy"]) == (
        "web_form", "asked online", str(org.user_id),
    )  # fmt: skip
    assert entry["requestedAt"] == text(LAST_WEEK + timedelta(milliseconds=123))
    assert entry["expiresAt"] == text(NEXT_YEAR)
    listed = data_of(gateway.get("/api/dnc/list", org.token))["dncList"]
    assert listed[0] == entry
    assert list(listed[1]) == SEED_ENTRY_KEYS  # the other system's row, unchanged
    ndjson = gateway.request("/api/dnc/export", headers={"Authorization": f"Bearer {org.token}"})
    assert [json.loads(line) for line in ndjson.body.splitlines()] == listed
    csv_reply = gateway.request(
        "/api/dnc/export", headers={"Authorization": f"Bearer {org.token}", "Accept": "text/csv"}
    )
    header, mine, theirs = list(csv.reader(io.StringIO(csv_reply.body.decode())))
    assert header == SEED_ENTRY_KEYS + COMPLIANCE_KEYS
    assert dict(zip(header, mine, strict=True)) == {key: entry.get(key, "") for key in header}
    assert theirs[len(SEED_ENTRY_KEYS) :] == [""] * len(COMPLIANCE_KEYS)


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"source": "s" * 65}, "source must be at most 64 characters"),
        ({"source": "a\u0007b"}, "source must not contain control characters"),
        ({"reason": "r" * 513}, "reason must be at most 512 characters"),
        ({"requestedAt": text(datetime.now(UTC) + timedelta(days=1))}, "requested_at must not be"),
        ({"expiresAt": text(LAST_WEEK)}, "expires_at must be in the future"),
        ({"expiresAt": "next week"}, "expiresAt"),
        ({"requestedAt": "2025-05-15"}, "requestedAt"),
        ({"expiresAt": 1700000000}, "expiresAt"),
        ({"addedBy": "someone else"}, None),  # output only: an unknown key, ignored
    ],
)
def test_rest_refuses_each_bad_field_with_400(
    gateway: Gateway, new_org: OrgFactory, fields: dict[str, Any], complaint: str | None
) -> None:
    org = new_org()
    reply = post(gateway, "/api/dnc/add", org.token, {"phoneNumber": "12125557011", **fields})
    total = data_of(gateway.get("/api/dnc/list", org.token))["pagination"]["total"]
    if complaint is None:
        assert data_of(reply)["addedBy"] == str(org.user_id)
        assert total == 1
        return
    assert complaint in error_envelope(reply, 400)["errorMessage"]
    assert total == 0


def test_rest_batch_items_are_judged_one_by_one(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org()
    items = [
        {"phoneNumber": "12125557020", "source": "agent", "expiresAt": text(NEXT_YEAR)},
        {"phoneNumber": "12125557021", "expiresAt": text(LAST_WEEK)},
    ]
    results = data_of(post(gateway, "/api/dnc/batch-add", org.token, {"entries": items}))["results"]
    assert [r["status"] for r in results] == ["BATCH_ADD_STATUS_ADDED", "BATCH_ADD_STATUS_INVALID"]
    assert results[1]["error"].startswith("entries[1].expires_at must be in the future")
    [entry] = data_of(gateway.get("/api/dnc/list", org.token))["dncList"]
    assert (entry["source"], entry["expiresAt"]) == ("agent", text(NEXT_YEAR))


def test_grpcurl_adds_with_the_record_and_describes_it(
    grpc_service: Service, new_org: OrgFactory
) -> None:
    org = new_org()
    body = {
        "phoneNumber": "+1 212 555 7030", "source": "call", "reason": "asked on the call",
        "requestedAt": LAST_WEEK.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expiresAt": NEXT_YEAR.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }  # fmt: skip
    added = grpcurl(
        "-plaintext", "-H", f"authorization: Bearer {org.token}", "-d", json.dumps(body),
        grpc_service.target, "dnc.v1.DncService/AddDnc",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    entry = json.loads(added.stdout)["entry"]
    assert (entry["source"], entry["addedBy"]) == ("call", str(org.user_id))
    assert entry["expiresAt"] == NEXT_YEAR.strftime("%Y-%m-%dT%H:%M:%SZ")
    described = grpcurl("-plaintext", grpc_service.target, "describe", "dnc.v1.DncEntry")
    for field in ("source", "reason", "requested_at", "expires_at", "added_by"):
        assert f" {field} = " in described.stdout
