"""ListDncHistory through the real service and gateway: a number's recorded changes, newest
first, within the caller's organization only, after the entry is gone, page by page with
tokens bound to the organization and number, and rendered in the REST envelope."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import grpc
import pytest
from bson import ObjectId
from google.rpc import error_details_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status
from pymongo.database import Database

from data_support import BASE_TIME, Document, Org, OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from dnc_service.store.history import HISTORY_INDEX, HISTORY_INDEX_NAME
from dnc_service.validation.requests import HISTORY_TOKEN_INVALID
from gateway_support import ENVELOPE_KEYS, Gateway, error_envelope
from management_support import add, with_request_id
from service_support import Service
from support import grpcurl, wait_until

FETCHED = "DNC history fetched successfully"
EVENT_KEYS = ["action", "entryId", "phoneE164", "actor", "requestId", "at", "source", "reason"]
Stub = dnc_pb2_grpc.DncServiceStub


def history(stub: Stub, org: Org, phone: str, **fields: Any) -> dnc_pb2.ListDncHistoryResponse:
    request = dnc_pb2.ListDncHistoryRequest(phone_number=phone, **fields)
    response: dnc_pb2.ListDncHistoryResponse = stub.ListDncHistory(
        request, metadata=org.metadata, timeout=10
    )
    return response


def altered(token: str) -> str:
    """`token` with one character of its sealed body changed."""
    return token[:30] + ("B" if token[30] == "A" else "A") + token[31:]


def refused(stub: Stub, org: Org, **fields: Any) -> tuple[str, str]:
    """The INVALID_ARGUMENT a history request fails with: the field its BadRequest names, and
    the message (the violation's description is the same text)."""
    with pytest.raises(grpc.RpcError) as raised:
        stub.ListDncHistory(
            dnc_pb2.ListDncHistoryRequest(**fields), metadata=org.metadata, timeout=10
        )
    error: Any = raised.value  # also a grpc.Call
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    status = rpc_status.from_call(error)
    assert status is not None
    [packed] = status.details
    bad_request = error_details_pb2.BadRequest()
    assert packed.Unpack(bad_request)
    [violation] = bad_request.field_violations
    assert violation.description == error.details()
    return violation.field, violation.description


def record(org: Org, number: str, at: datetime, **fields: Any) -> Document:
    """An audit record as another writer (or an expiry) may store it: random _id."""
    return {
        "_id": ObjectId(),
        "orgId": org.org_id,
        "action": "add",
        "entryId": ObjectId(),
        "phoneE164": number,
        "actor": str(org.user_id),
        "requestId": "seeded",
        "at": at,
        **fields,
    }


def walk(stub: Stub, org: Org, phone: str, limits: list[int]) -> list[dnc_pb2.DncEvent]:
    """Every page of the history, the n-th page asked with limits[n] (the last one repeats)."""
    pages = [history(stub, org, phone, limit=limits[0])]
    while pages[-1].next_page_token:
        limit = limits[min(len(pages), len(limits) - 1)]
        pages.append(history(stub, org, phone, limit=limit, page_token=pages[-1].next_page_token))
        assert len(pages[-1].events) == limit or not pages[-1].next_page_token
        assert len(pages) < 60
    return [event for page in pages for event in page.events]


def test_add_and_remove_show_newest_first_also_after_the_entry_is_gone(
    stub: Stub, new_org: OrgFactory
) -> None:
    org = new_org()
    entry = add(stub, org, "+1 (212) 555-0901")
    stub.RemoveDnc(
        dnc_pb2.RemoveDncRequest(id=entry.id),
        metadata=with_request_id(org, "req-remove-1"),
        timeout=10,
    )
    response = history(stub, org, "12125550901")
    assert [event.action for event in response.events] == ["remove", "add"]
    for event in response.events:
        assert (event.entry_id, event.phone_e164, event.actor) == (
            entry.id,
            "+12125550901",
            str(org.user_id),
        )
        # Today's writer stores neither: the event leaves them out.
        assert not event.HasField("source")
        assert not event.HasField("reason")
    removed, added = response.events
    assert removed.request_id == "req-remove-1"
    assert removed.at.ToDatetime() >= added.at.ToDatetime() >= entry.created_at.ToDatetime()
    assert response.next_page_token == ""
    # Added again: a new entry, and the history keeps the old one's events.
    again = add(stub, org, "+12125550901")
    assert [
        (event.action, event.entry_id) for event in history(stub, org, "+12125550901").events
    ] == [
        ("add", again.id),
        ("remove", entry.id),
        ("add", entry.id),
    ]


def test_another_organizations_events_are_never_visible(stub: Stub, new_org: OrgFactory) -> None:
    first, second = new_org(), new_org()
    mine = add(stub, first, "+12125550902")
    theirs = add(stub, second, "+12125550902")
    assert [event.entry_id for event in history(stub, first, "+12125550902").events] == [mine.id]
    assert [event.entry_id for event in history(stub, second, "12125550902").events] == [theirs.id]
    assert list(history(stub, new_org(), "+12125550902").events) == []


def test_pages_cover_the_history_once_in_order_whatever_the_limit(
    stub: Stub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    number = "+12125550903"
    # Ties on `at` in threes: `_id` (random here, as old records are) decides among them.
    records = [record(org, number, BASE_TIME - timedelta(minutes=n // 3)) for n in range(26)]
    mongo_db.dnc_audit.insert_many(records)
    mongo_db.dnc_audit.insert_one(record(org, "+12125550904", BASE_TIME))  # another number
    expected = [
        str(each["entryId"])
        for each in sorted(records, key=lambda each: (each["at"], each["_id"]), reverse=True)
    ]
    for limits in ([4], [1, 7, 2], [100]):
        assert [event.entry_id for event in walk(stub, org, number, limits)] == expected
    # No limit: 20 a page.
    first = history(stub, org, number)
    assert len(first.events) == 20
    assert first.next_page_token
    # A record added meanwhile (newer) does not shift the pages after the first.
    mongo_db.dnc_audit.insert_one(record(org, number, BASE_TIME + timedelta(hours=1)))
    rest = history(stub, org, number, page_token=first.next_page_token)
    assert [event.entry_id for event in rest.events] == expected[20:]


def test_an_expiry_and_the_compliance_fields_show_as_recorded(
    stub: Stub, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    number = "+12125550905"
    entry_id = ObjectId()
    expires_at = BASE_TIME + timedelta(days=30, milliseconds=250)
    mongo_db.dnc_audit.insert_many(
        [
            record(org, number, BASE_TIME, entryId=entry_id, source="sms_stop", reason="STOP"),
            # An expiry records the entry's expiresAt; a change in progress may be pending.
            record(
                org, number, expires_at, entryId=entry_id, action="expire", actor="system",
                requestId=None, pending=True,
            ),
        ]
    )  # fmt: skip
    expired, added = history(stub, org, number).events
    assert (expired.action, expired.entry_id, expired.actor) == ("expire", str(entry_id), "system")
    assert expired.at.ToJsonString() == "2025-06-14T10:30:00.250Z"
    assert (expired.request_id, expired.HasField("source")) == ("", False)
    assert (added.action, added.source, added.reason) == ("add", "sms_stop", "STOP")


def test_refusals_are_invalid_argument_naming_the_field(
    stub: Stub, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    org, other = new_org(), new_org()
    number = "+12125550906"
    mongo_db.dnc_audit.insert_many([record(org, number, BASE_TIME) for _ in range(3)])
    token = history(stub, org, number, limit=1).next_page_token
    assert token
    cases: list[tuple[dict[str, Any], str]] = [
        ({"phone_number": "911"}, "phone_number"),
        ({"phone_number": "not a number"}, "phone_number"),
        ({}, "phone_number"),
        ({"phone_number": number, "limit": 0}, "limit"),
        ({"phone_number": number, "limit": 101}, "limit"),
        ({"phone_number": number, "page_token": altered(token)}, "page_token"),
        ({"phone_number": number, "page_token": "made-up"}, "page_token"),
        ({"phone_number": "+12125550907", "page_token": token}, "page_token"),
    ]
    for fields, field in cases:
        assert refused(stub, org, **fields)[0] == field, fields
    # Replayed by another organization: the same refusal, saying how tokens are used.
    replayed = refused(stub, other, phone_number=number, page_token=token)
    assert replayed == ("page_token", HISTORY_TOKEN_INVALID)
    # The same token with another limit is fine (AIP-158); an unparseable number is refused
    # before anything is read.
    assert len(history(stub, org, number, limit=5, page_token=token).events) == 2


def test_a_number_without_history_is_an_empty_list(stub: Stub, new_org: OrgFactory) -> None:
    response = history(stub, new_org(), "+44 7700 900123")
    assert list(response.events) == []
    assert response.next_page_token == ""


def test_rest_renders_the_envelope_and_pages_with_page_token(
    gateway: Gateway, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org()
    number = "+12125550908"
    mongo_db.dnc_audit.insert_many(
        [
            record(org, number, BASE_TIME, source="web_form", reason="asked online"),
            record(org, number, BASE_TIME - timedelta(days=1), pending=True),
        ]
    )

    def get(**query: str) -> Any:
        reply = gateway.get(f"/api/dnc/history?{urlencode(query)}", org.token)
        assert reply.status == 200, reply.body
        body = reply.json()
        assert list(body) == ENVELOPE_KEYS
        assert body["message"] == FETCHED
        assert (body["status"], body["code"], body["errorMessage"]) == (True, 200, "")
        return body["data"]

    first = get(phoneNumber=number, limit="1")
    assert list(first) == ["events", "nextPageToken"]
    [event] = first["events"]
    assert list(event) == EVENT_KEYS
    assert event["at"] == "2025-05-15T10:30:00.000Z"
    assert (event["action"], event["source"], event["reason"]) == (
        "add",
        "web_form",
        "asked online",
    )
    second = get(phoneNumber="1 212 555 0908", pageToken=first["nextPageToken"])
    assert second == {
        "events": [
            {
                "action": "add",
                "entryId": second["events"][0]["entryId"],
                "phoneE164": number,
                "actor": str(org.user_id),
                "requestId": "seeded",
                "at": "2025-05-14T10:30:00.000Z",
            }
        ]
    }  # no pending, no source or reason, no token on the last page
    assert get(phoneNumber="+12125550999") == {"events": []}
    for query in ({"phoneNumber": "911"}, {"phoneNumber": number, "limit": "0"}):
        error_envelope(gateway.get(f"/api/dnc/history?{urlencode(query)}", org.token), 400)
    tampered = {"phoneNumber": number, "pageToken": altered(first["nextPageToken"])}
    error_envelope(gateway.get(f"/api/dnc/history?{urlencode(tampered)}", org.token), 400)
    error_envelope(gateway.get(f"/api/dnc/history?{urlencode({'phoneNumber': number})}"), 401)


def test_the_history_index_is_ensured_at_start(
    grpc_service: Service, mongo_db: Database[Document]
) -> None:
    indexes = mongo_db.dnc_audit.index_information()
    assert indexes[HISTORY_INDEX_NAME]["key"] == HISTORY_INDEX


def test_grpcurl_reads_the_history_with_json_names_and_the_number_stays_masked(
    grpc_service: Service, stub: Stub, new_org: OrgFactory
) -> None:
    org = new_org()
    entry = add(stub, org, "+12125550910")
    request_id = str(uuid.uuid4())
    result = grpcurl(
        "-plaintext", "-H", f"authorization: Bearer {org.token}",
        "-H", f"x-request-id: {request_id}",
        "-d", '{"phoneNumber":"+1 212 555 0910","limit":20}',
        grpc_service.target, "dnc.v1.DncService/ListDncHistory",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [event] = json.loads(result.stdout)["events"]
    assert (event["action"], event["entryId"], event["phoneE164"]) == (
        "add",
        entry.id,
        "+12125550910",
    )
    assert event["at"].endswith("Z")
    wait_until(lambda: len(grpc_service.process.json_lines(request_id=request_id)) == 1, timeout=5)
    [line] = grpc_service.process.json_lines(request_id=request_id)
    assert (line["method"], line["phone"], line["items"]) == (
        "/dnc.v1.DncService/ListDncHistory",
        "+*******0910",
        1,
    )
    assert "+12125550910" not in grpc_service.process.log()
