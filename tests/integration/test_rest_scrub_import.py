"""REST scrub and import through the real gateway, service and database: CSV and NDJSON bodies,
counts and rows written, one answer line per number in order, dry runs, a bad line mid-body."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pymongo.database import Database

from data_support import Document, OrgFactory
from gateway_support import Gateway, Reply, error_envelope

IMPORTED = "DNC list imported successfully"


def post(gateway: Gateway, path: str, token: str | None, body: bytes, media: str) -> Reply:
    headers = {"Content-Type": media}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return gateway.request(path, method="POST", headers=headers, body=body, timeout=120)


def numbers(prefix: str, count: int) -> list[str]:
    return [f"1{prefix}{n:04d}" for n in range(count)]


def csv_body(header: str, rows: list[str]) -> bytes:
    return (header + "\r\n" + "\r\n".join(rows) + "\r\n").encode()


def test_import_csv_writes_every_row_and_answers_the_counts(
    gateway: Gateway, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    org = new_org()
    fresh = numbers("718555", 2300)
    rows = [f'{n},"customer_request, by call",x' for n in fresh] + ["911,,", "letters,,"]
    reply = post(
        gateway,
        "/api/dnc/import",
        org.token,
        csv_body("phoneNumber,type,note", rows),
        "text/csv",
    )
    assert reply.status == 200, reply.body[:500]
    body = reply.json()
    assert (body["message"], body["status"], body["code"]) == (IMPORTED, True, 200)
    data = body["data"]
    assert (data["added"], data.get("alreadyListed", 0), data["invalid"]) == (2300, 0, 2)
    assert [error["row"] for error in data["errors"]] == [2300, 2301]
    stored = {doc["phoneE164"]: doc for doc in mongo_db["dnc_entries"].find({"orgId": org.org_id})}
    assert set(stored) == {f"+{n}" for n in fresh}
    assert stored[f"+{fresh[0]}"]["type"] == "customer_request, by call"
    # Idempotent: the same file again lists nothing new.
    again = post(
        gateway, "/api/dnc/import", org.token, csv_body("phoneNumber", fresh[:10]), "text/csv"
    )
    assert again.json()["data"]["alreadyListed"] == 10


def test_a_dry_run_counts_and_writes_nothing(
    gateway: Gateway, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    org = new_org()
    line = json.dumps({"entries": [{"phoneNumber": n} for n in numbers("718556", 5)]})
    reply = post(
        gateway, "/api/dnc/import?dryRun=true", org.token, line.encode(), "application/x-ndjson"
    )
    assert reply.status == 200, reply.body
    assert reply.json()["data"]["added"] == 5
    assert mongo_db["dnc_entries"].count_documents({"orgId": org.org_id}) == 0


def test_a_bad_line_mid_import_reports_what_was_written_before_it(
    gateway: Gateway, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    org = new_org()
    good = json.dumps({"entries": [{"phoneNumber": n} for n in numbers("718557", 3)]})
    body = f'{good}\n{{"entries": 5}}\n{good}\n'.encode()
    reply = post(gateway, "/api/dnc/import", org.token, body, "application/x-ndjson")
    text = error_envelope(reply, 400)["errorMessage"]
    assert text.startswith("line 2: ")
    assert "The 1 messages (3 items) before it were processed: added 3" in text
    assert mongo_db["dnc_entries"].count_documents({"orgId": org.org_id}) == 3


def test_no_token_is_401_before_the_body_is_read(gateway: Gateway) -> None:
    reply = post(gateway, "/api/dnc/scrub", None, b"phoneNumber\n12125550000\n", "text/csv")
    error_envelope(reply, 401)


async def lines_of(gateway: Gateway, path: str, token: str, body: bytes, **headers: str) -> str:
    """Sent in small chunks while the answer is read, as a dialer's client would."""

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    sent = {"Authorization": f"Bearer {token}", **headers}
    url = f"{gateway.url}{path}"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=chunks(), headers=sent) as response,
    ):
        assert response.status == 200
        return await response.text()


@pytest.mark.asyncio
async def test_scrub_answers_one_line_per_number_in_order_ndjson_and_csv(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    org = new_org()
    listed = numbers("917555", 500)
    imported = post(
        gateway, "/api/dnc/import", org.token, csv_body("phoneNumber", listed), "text/csv"
    )
    assert imported.json()["data"]["added"] == 500
    campaign = [n for pair in zip(listed, numbers("917556", 500), strict=True) for n in pair]
    campaign += ["911", "(917) 555-0007"]  # unparseable; national, needs ?region=US
    ndjson = "".join(
        json.dumps({"phoneNumbers": campaign[i : i + 300]}) + "\n" for i in range(0, 1002, 300)
    )
    text = await lines_of(
        gateway, "/api/dnc/scrub?region=US", org.token, ndjson.encode(),
        **{"Content-Type": "application/x-ndjson"},
    )  # fmt: skip
    results: list[dict[str, Any]] = [json.loads(line) for line in text.splitlines()]
    assert [result["input"] for result in results] == campaign
    assert [result["listed"] for result in results[:1000]] == [True, False] * 500
    assert results[1000]["listed"] is False
    assert results[1000]["error"]
    assert (results[1001]["listed"], results[1001]["phoneE164"]) == (True, "+19175550007")
    upload = csv_body("name,phoneNumber", [f"x,{n}" for n in campaign[:1000]])
    as_csv = await lines_of(
        gateway,
        "/api/dnc/scrub",
        org.token,
        upload,
        **{"Content-Type": "text/csv", "Accept": "text/csv"},
    )
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert [row["input"] for row in rows] == campaign[:1000]
    assert [row["listed"] for row in rows] == ["true", "false"] * 500


def test_many_invalid_rows_are_a_bounded_report(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org()
    rows = [f"not-a-number-{n}" for n in range(5000)]
    reply = post(gateway, "/api/dnc/import", org.token, csv_body("phoneNumber", rows), "text/csv")
    assert reply.status == 200, reply.body[:300]
    data = reply.json()["data"]
    assert (data["invalid"], len(data["errors"])) == (5000, 1000)
    assert [error["row"] for error in data["errors"]] == list(range(1000))
