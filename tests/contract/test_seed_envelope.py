"""Live gateway responses against the seed API's own example response, parsed from the seed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from data_support import BASE_TIME, OrgFactory, make_entry
from gateway_support import ENVELOPE_KEYS, SEED_ENTRY_KEYS, Gateway, error_envelope

# The seed as shared beside the repository (CI lays shared/ there); a verbatim copy travels with
# the tests for checkouts without it.
SHARED_SEED = Path(__file__).resolve().parents[2].parent / "shared" / "seed-dnc-list-api.txt"
SEED = SHARED_SEED if SHARED_SEED.exists() else Path(__file__).with_name("seed-dnc-list-api.txt")
CREATED_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
OBJECT_ID = re.compile(r"[0-9a-f]{24}")


def seed_example() -> dict[str, Any]:
    """The JSON object that follows the seed's `Response` heading."""
    text = SEED.read_text(encoding="utf-8")
    heading = re.search(r"^Response\s*$", text, re.MULTILINE)
    assert heading is not None, f"no Response section in {SEED}"
    start = text.index("{", heading.end())
    example, _ = json.JSONDecoder().raw_decode(text, start)
    assert isinstance(example, dict)
    return example


def shape(value: Any) -> Any:
    """Keys in order and JSON types, without the values: what two envelopes must share."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def compare(seed: Any, live: Any, path: tuple[str, ...] = ()) -> None:
    """Exactly the same keys in the same order at every level, and the same JSON types."""
    assert type(live) is type(seed), f"{'.'.join(path)}: {type(live)} != {type(seed)}"
    if isinstance(seed, dict):
        assert list(live) == list(seed), f"{'.'.join(path)}: keys differ"
        for key, item in seed.items():
            compare(item, live[key], (*path, key))
    elif isinstance(seed, list):
        assert live, f"{'.'.join(path)}: empty list"
        for item in live:
            compare(seed[0], item, (*path, "[]"))


@pytest.fixture(scope="module")
def seed() -> dict[str, Any]:
    return seed_example()


def test_the_seed_example_is_where_we_expect_it(seed: dict[str, Any]) -> None:
    assert seed["message"] == "DNC list fetched successfully"
    assert seed["data"]["pagination"] == {"total": 42, "page": 1, "limit": 10, "totalPages": 5}
    assert list(seed["data"]["dncList"][0]) == SEED_ENTRY_KEYS


def test_the_seeds_own_request_gets_the_seeds_envelope(
    gateway: Gateway, new_org: OrgFactory, seed: dict[str, Any]
) -> None:
    """The seed's curl line (page=1, limit=10, search=123) against 42 complete entries."""
    org_id = ObjectId()
    entries = [
        make_entry(org_id, n, BASE_TIME, phoneNumber=f"1212555{n:04d}", requestUUID=f"r-123-{n}")
        for n in range(42)
    ]
    org = new_org(org_id=org_id, entries=entries)
    reply = gateway.get("/api/dnc/list?page=1&limit=10&search=123", org.token)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    live = reply.json()
    compare(seed, live)
    assert shape(live)["data"]["dncList"] == shape(seed)["data"]["dncList"]
    assert {key: live[key] for key in ("message", "status", "code", "errorMessage")} == {
        key: seed[key] for key in ("message", "status", "code", "errorMessage")
    }
    assert live["data"]["pagination"] == seed["data"]["pagination"]
    for entry in live["data"]["dncList"]:
        assert OBJECT_ID.fullmatch(entry["_id"])
        assert entry["orgId"] == str(org_id)
        assert OBJECT_ID.fullmatch(entry["batchId"])
        assert CREATED_AT.fullmatch(entry["createdAt"])
        assert entry["phoneNumber"].isdigit()


def test_the_last_page_has_exactly_the_seeds_keys(
    gateway: Gateway, new_org: OrgFactory, seed: dict[str, Any]
) -> None:
    org = new_org(entries=3)
    live = gateway.get("/api/dnc/list?page=1&limit=10", org.token).json()
    assert shape(live) == shape(seed)


def test_the_seed_envelope_is_byte_for_byte(gateway: Gateway, new_org: OrgFactory) -> None:
    """Compact JSON in the seed's key order, as the seed's service (Express) writes it."""
    org_id = ObjectId()
    entry = make_entry(org_id, 1, BASE_TIME)
    org = new_org(org_id=org_id, entries=[entry])
    body = gateway.get("/api/dnc/list", org.token).body
    expected = {
        "message": "DNC list fetched successfully",
        "status": True,
        "code": 200,
        "errorMessage": "",
        "data": {
            "dncList": [
                {
                    "_id": str(entry["_id"]),
                    "phoneNumber": entry["phoneNumber"],
                    "type": entry["type"],
                    "orgId": str(org_id),
                    "batchId": str(entry["batchId"]),
                    "requestUUID": entry["requestUUID"],
                    "callRecording": entry["callRecording"],
                    "transcription": entry["transcription"],
                    "createdAt": "2025-05-15T10:30:00.000Z",
                }
            ],
            "pagination": {"total": 1, "page": 1, "limit": 10, "totalPages": 1},
        },
    }
    assert body == json.dumps(expected, separators=(",", ":")).encode()


def test_errors_share_the_envelope_keys(gateway: Gateway, seed: dict[str, Any]) -> None:
    live = error_envelope(gateway.get("/api/dnc/list"), 401)
    assert list(live) == list(seed) == ENVELOPE_KEYS
