"""Streamed request bodies (POST /api/dnc/scrub, /api/dnc/import) through the gateway app, against
a scripted service on a real port: order, counts, CSV, bad input, idle bodies, cancellation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from upload_support import ScriptedUploads, scrub_result

from dnc.v1 import dnc_pb2_grpc
from gateway.app import create_app
from gateway.dnc_api import DNC_API
from gateway.settings import GatewaySettings

AUTH = {"Authorization": "Bearer a.b.c"}
NDJSON = {**AUTH, "Content-Type": "application/x-ndjson"}
CSV = {**AUTH, "Content-Type": "text/csv"}
Client = TestClient[Any, Any]


@pytest_asyncio.fixture
async def service() -> AsyncIterator[tuple[ScriptedUploads, str]]:
    servicer = ScriptedUploads()
    server = grpc.aio.server()
    dnc_pb2_grpc.add_DncServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield servicer, f"127.0.0.1:{port}"
    await server.stop(None)


@pytest_asyncio.fixture
async def client(service: tuple[ScriptedUploads, str]) -> AsyncIterator[Client]:
    settings = GatewaySettings(
        grpc_target=service[1], timeout_seconds=5, body_idle_seconds=0.5, max_body_bytes=64 * 1024
    )
    async with TestClient(TestServer(create_app(settings, spec=DNC_API))) as test_client:
        yield test_client


def numbers(count: int) -> list[str]:
    return [f"+1212555{index:04d}" for index in range(count)]


def expected_line(number: str) -> dict[str, Any]:
    result = scrub_result(number)
    return {"input": number, "phoneE164": result.phone_e164, "listed": result.listed}


async def chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def post(client: Client, path: str, body: Any, headers: dict[str, str]) -> tuple[int, bytes]:
    response = await client.post(path, data=body, headers=headers)
    return response.status, await response.read()


def ndjson_lines(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.splitlines()]


@pytest.mark.asyncio
async def test_scrub_ndjson_answers_one_line_per_number_in_order_over_many_chunks(
    client: Client, service: tuple[ScriptedUploads, str]
) -> None:
    sent = numbers(2500)
    groups = [sent[:1000], sent[1000:1999], sent[1999:]]
    body = b"".join(json.dumps({"phoneNumbers": group}).encode() + b"\n" for group in groups)
    status, answer = await post(client, "/api/dnc/scrub", chunks(body, 777), NDJSON)
    assert status == 200, answer
    assert ndjson_lines(answer) == [expected_line(number) for number in sent]
    assert (service[0].seen.messages, service[0].seen.items) == (3, 2500)


@pytest.mark.asyncio
async def test_scrub_csv_groups_rows_into_messages_of_1000_and_answers_csv(
    client: Client, service: tuple[ScriptedUploads, str]
) -> None:
    sent = numbers(2001)
    body = "\ufeffname,phoneNumber\r\n" + "".join(f"x,{n}\r\n" for n in sent)
    status, answer = await post(
        client,
        "/api/dnc/scrub?region=US",
        chunks(body.encode(), 1000),
        {**CSV, "Accept": "text/csv"},
    )
    assert status == 200, answer
    rows = answer.decode().splitlines()
    assert rows[0] == "input,phoneE164,listed,entryId,type,createdAt,error"
    assert [row.split(",")[0] for row in rows[1:]] == sent
    assert (service[0].seen.messages, service[0].seen.items) == (3, 2001)
    assert service[0].seen.regions == {"US"}


@pytest.mark.asyncio
async def test_import_csv_answers_the_envelope_with_the_service_counts(
    client: Client, service: tuple[ScriptedUploads, str]
) -> None:
    rows = [f'{n},"call, then sms",customer_request' for n in numbers(1500)] + ["x1,,"] * 3
    body = "phoneNumber,reason,type\n" + "\n".join(rows) + "\n"
    status, answer = await post(client, "/api/dnc/import?dryRun=true&region=us", body, CSV)
    assert status == 200, answer
    envelope = json.loads(answer)
    assert envelope["message"] == "DNC list imported successfully"
    data = envelope["data"]
    assert (data["added"], data["invalid"]) == (1500, 3)
    assert [error["row"] for error in data["errors"]] == [1500, 1501, 1502]
    assert service[0].seen.dry_runs == {True}
    assert service[0].seen.regions == {"us"}
    assert service[0].seen.messages == 2


@pytest.mark.asyncio
async def test_import_ndjson_lines_are_messages(
    client: Client, service: tuple[ScriptedUploads, str]
) -> None:
    lines = [{"entries": [{"phoneNumber": n} for n in numbers(3)], "region": "GB"}] * 4
    body = "\n\n".join(json.dumps(line) for line in lines)  # blank lines are skipped
    status, answer = await post(client, "/api/dnc/import", body, NDJSON)
    assert status == 200, answer
    assert json.loads(answer)["data"]["added"] == 12
    assert service[0].seen.regions == {"GB"}


@pytest.mark.asyncio
async def test_csv_without_the_needed_column_is_400_naming_it(client: Client) -> None:
    for path in ("/api/dnc/scrub", "/api/dnc/import"):
        status, answer = await post(client, path, "number,type\n1212,x\n", CSV)
        assert status == 400, answer
        assert "'phoneNumber' column" in json.loads(answer)["errorMessage"]


@pytest.mark.asyncio
async def test_a_bad_line_half_closes_and_reports_what_came_before(
    client: Client, service: tuple[ScriptedUploads, str]
) -> None:
    good = json.dumps({"entries": [{"phoneNumber": n} for n in numbers(5)]})
    body = f"{good}\n{good}\n{{not json\n{good}\n"
    status, answer = await post(client, "/api/dnc/import", body, NDJSON)
    assert status == 400, answer
    text = json.loads(answer)["errorMessage"]
    assert text.startswith("line 3: the request body is not valid JSON")
    assert "The 2 messages (10 items) before it were processed: added 10," in text
    assert service[0].seen.half_closed


@pytest.mark.asyncio
async def test_a_bad_line_mid_scrub_ends_with_an_error_line_after_the_earlier_answers(
    client: Client,
) -> None:
    good = json.dumps({"phoneNumbers": numbers(3)})
    status, answer = await post(client, "/api/dnc/scrub", f"{good}\n[1]\n", NDJSON)
    assert status == 200
    lines = ndjson_lines(answer)
    assert lines[:3] == [expected_line(number) for number in numbers(3)]
    assert (lines[3]["code"], lines[3]["status"]) == (400, False)
    assert lines[3]["errorMessage"].startswith("line 2: the request body must be a JSON object")
    assert len(lines) == 4


@pytest.mark.asyncio
async def test_a_bad_first_line_is_a_plain_400(client: Client) -> None:
    status, answer = await post(client, "/api/dnc/scrub", b'{"phoneNumbers": 5}\n', NDJSON)
    assert status == 400, answer
    assert json.loads(answer)["errorMessage"].startswith("line 1: ")


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/api/dnc/scrub", "/api/dnc/import"])
async def test_a_line_longer_than_the_body_limit_is_413_without_reading_on(
    client: Client, path: str
) -> None:
    huge = b'{"phoneNumbers": ["' + b"1" * 10_000_000 + b'"]}\n'
    status, answer = await post(client, path, chunks(huge, 256 * 1024), NDJSON)
    assert status == 413, answer[:300]
    assert "line 1 is longer than 65536 bytes" in json.loads(answer)["errorMessage"]


@pytest.mark.asyncio
@pytest.mark.parametrize("headers", [NDJSON, CSV])
async def test_a_body_that_is_not_utf8_is_400(client: Client, headers: dict[str, str]) -> None:
    body = b"phoneNumber\n+12125550000\n" + b"\xff\xfe\n"
    status, answer = await post(client, "/api/dnc/import", body, headers)
    assert status == 400, answer
    assert "line 3: the body is not UTF-8 text" in json.loads(answer)["errorMessage"]


@pytest.mark.asyncio
async def test_an_idle_body_is_ended_with_408_and_the_counts(
    client: Client, service: tuple[ScriptedUploads, str]
) -> None:
    async def stalls() -> AsyncIterator[bytes]:
        yield b"phoneNumber\n+12125550001\n"
        await asyncio.sleep(3)
        yield b"+12125550002\n"

    status, answer = await post(client, "/api/dnc/import", stalls(), CSV)
    assert status == 408, answer
    text = json.loads(answer)["errorMessage"]
    assert "sent nothing for 0.5 s after line 2" in text
    assert "The 1 messages (1 items) before it were processed: added 1," in text


@pytest.mark.asyncio
async def test_an_idle_scrub_ends_with_an_error_line(client: Client) -> None:
    async def stalls() -> AsyncIterator[bytes]:
        yield json.dumps({"phoneNumbers": numbers(2)}).encode() + b"\n"
        await asyncio.sleep(3)

    status, answer = await post(client, "/api/dnc/scrub", stalls(), NDJSON)
    assert status == 200
    lines = ndjson_lines(answer)
    assert len(lines) == 3
    assert lines[2]["code"] == 408


@pytest.mark.asyncio
async def test_other_content_types_are_415(client: Client) -> None:
    headers = {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}
    status, answer = await post(client, "/api/dnc/scrub", b"a=b", headers)
    assert status == 415
    assert "application/x-ndjson or text/csv" in json.loads(answer)["errorMessage"]


@pytest.mark.asyncio
async def test_a_compressed_body_is_415_before_any_call(
    client: Client, service: tuple[ScriptedUploads, str]
) -> None:
    headers = {**CSV, "Content-Encoding": "gzip"}
    status, answer = await post(client, "/api/dnc/import", b"\x1f\x8b\x08\x00", headers)
    assert status == 415, answer
    assert "Content-Encoding 'gzip'" in json.loads(answer)["errorMessage"]
    assert service[0].seen.messages == 0


@pytest.mark.asyncio
async def test_a_bad_query_value_is_400_before_any_call(
    client: Client, service: tuple[ScriptedUploads, str]
) -> None:
    status, answer = await post(client, "/api/dnc/import?dryRun=maybe", b"{}", NDJSON)
    assert status == 400, answer
    assert "'dry_run'" in json.loads(answer)["errorMessage"]
    assert service[0].seen.messages == 0


@pytest.mark.asyncio
async def test_a_service_error_mid_scrub_is_an_error_line(client: Client) -> None:
    body = "phoneNumber\n" + "\n".join([*numbers(1000), "abort:UNAVAILABLE"]) + "\n"
    status, answer = await post(client, "/api/dnc/scrub", body, CSV)
    assert status == 200
    lines = ndjson_lines(answer)
    assert len(lines) == 1001
    assert lines[-1]["code"] == 503


@pytest.mark.asyncio
async def test_a_service_refusal_before_any_answer_is_its_status(client: Client) -> None:
    body = json.dumps({"entries": [{"phoneNumber": "abort:PERMISSION_DENIED"}]})
    status, answer = await post(client, "/api/dnc/import", body, NDJSON)
    assert status == 403, answer


@pytest.mark.asyncio
async def test_a_client_that_goes_away_cancels_the_call(
    client: Client, service: tuple[ScriptedUploads, str]
) -> None:
    sent = asyncio.Event()

    async def breaks_off() -> AsyncIterator[bytes]:
        yield b"phoneNumber\n" + "\n".join(numbers(1500)).encode() + b"\n"
        sent.set()
        await asyncio.sleep(30)

    request = asyncio.create_task(post(client, "/api/dnc/import", breaks_off(), CSV))
    await asyncio.wait_for(sent.wait(), 5)
    for _ in range(50):
        if service[0].seen.messages:
            break
        await asyncio.sleep(0.05)
    request.cancel()
    for _ in range(100):
        if service[0].seen.cancelled:
            break
        await asyncio.sleep(0.05)
    assert service[0].seen.cancelled
    assert not service[0].seen.half_closed
