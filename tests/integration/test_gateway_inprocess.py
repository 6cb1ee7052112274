"""The gateway app in-process against a scripted gRPC server: every status, metadata, deadlines."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from email.message import Message
from typing import Any

import grpc
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from gateway.app import create_app
from gateway.dnc_api import DNC_API
from gateway.errors import HTTP_STATUS_BY_CODE
from gateway.settings import GatewaySettings
from gateway_support import Reply, error_envelope

Context = grpc.aio.ServicerContext[dnc_pb2.ListDncRequest, dnc_pb2.ListDncResponse]
SECRET_DETAILS = "mongo at 10.0.0.7:27017 said no"


class ScriptedDnc(dnc_pb2_grpc.DncServiceServicer):
    """Does what `search` says: `abort:CODE`, `sleep:SECONDS`, `bad-timestamp`, else echoes."""

    async def ListDnc(self, request: dnc_pb2.ListDncRequest, context: Context) -> Any:
        command, _, argument = request.search.partition(":")
        if command == "abort":
            await context.abort(grpc.StatusCode[argument], f"{argument} details; {SECRET_DETAILS}")
        if command == "sleep":
            await asyncio.sleep(float(argument))
        metadata = dict(context.invocation_metadata() or ())
        entry = dnc_pb2.DncEntry(
            id="0" * 24,
            org_id="1" * 24,
            transcription=str(metadata.get("authorization", "<none>")),
            request_uuid=str(metadata.get("x-request-id", "<none>")),
            type=f"{context.time_remaining():.3f}",
        )
        if command == "bad-timestamp":
            entry.created_at.seconds = 10**12  # past year 9999: cannot be rendered
        return dnc_pb2.ListDncResponse(
            dnc_list=[entry],
            pagination=dnc_pb2.Pagination(total=1, page=request.page or 1, limit=10, total_pages=1),
        )

    # Not scripted: the management routes are tested against the real service.
    async def AddDnc(self, request: Any, context: Any) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not scripted")

    async def RemoveDnc(self, request: Any, context: Any) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not scripted")

    async def BatchAddDnc(self, request: Any, context: Any) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not scripted")

    async def CheckDnc(self, request: Any, context: Any) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not scripted")

    async def ExportDnc(self, request: Any, context: Any) -> AsyncIterator[dnc_pb2.DncEntry]:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not scripted")
        yield dnc_pb2.DncEntry()  # never reached (abort raises): makes this a stream

    async def ExportDncBatches(self, request: Any, context: Any) -> AsyncIterator[Any]:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not scripted")
        yield dnc_pb2.ExportDncBatchesResponse()  # never reached

    async def ListDncHistory(self, request: Any, context: Any) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not scripted")

    async def ScrubDnc(self, requests: Any, context: Any) -> AsyncIterator[Any]:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not scripted")
        yield dnc_pb2.ScrubDncResponse()  # never reached

    async def ImportDnc(self, requests: Any, context: Any) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not scripted")


@pytest_asyncio.fixture
async def grpc_target() -> AsyncIterator[str]:
    server = grpc.aio.server()
    dnc_pb2_grpc.add_DncServiceServicer_to_server(ScriptedDnc(), server)
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(None)


@pytest_asyncio.fixture
async def client(grpc_target: str) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_app(GatewaySettings(grpc_target=grpc_target, timeout_seconds=5), spec=DNC_API)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def get(client: TestClient[Any, Any], search: str, **headers: str) -> Reply:
    """GET the list; some Authorization header unless given (the fake service checks none)."""
    headers = {"Authorization": "Bearer a.b.c", **headers}
    response = await client.get("/api/dnc/list", params={"search": search}, headers=headers)
    received = Message()
    for name, value in response.headers.items():
        received[name] = value
    return Reply(response.status, received, await response.read())


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "code", [code for code in grpc.StatusCode if code is not grpc.StatusCode.OK], ids=str
)
async def test_every_status_code_maps_through_the_app(
    client: TestClient[Any, Any], code: grpc.StatusCode
) -> None:
    # A CANCELLED from the service never means the client gave up (gateway.app.upstream_code).
    status = 503 if code is grpc.StatusCode.CANCELLED else HTTP_STATUS_BY_CODE[code]
    body = error_envelope(await get(client, f"abort:{code.name}"), status)
    if status < 500:
        assert body["errorMessage"].startswith(f"{code.name} details")
    else:
        assert SECRET_DETAILS not in body["errorMessage"]
        assert code.name not in body["errorMessage"]
    if status in (503, 504):  # the DNC API's name for its upstream, from DNC_API
        assert body["errorMessage"].startswith("The DNC service ")


@pytest.mark.asyncio
async def test_metadata_reaches_the_service_unchanged(client: TestClient[Any, Any]) -> None:
    authorization = "Bearer  a.b.c "
    reply = await get(client, "", Authorization=authorization, **{"X-Request-Id": "req-1"})
    assert reply.status == 200
    (entry,) = reply.json()["data"]["dncList"]
    assert entry["transcription"] == authorization.strip()  # HTTP itself trims the edges
    assert entry["requestUUID"] == "req-1"


@pytest.mark.asyncio
async def test_no_authorization_header_is_refused_without_a_call(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/api/dnc/list", params={"search": "abort:INTERNAL"})
    assert response.status == 401  # the gateway's own answer: the service would say 500
    assert "missing bearer token" in (await response.json())["errorMessage"]


@pytest.mark.asyncio
async def test_grpc_timeout_shortens_the_deadline_the_service_sees(
    client: TestClient[Any, Any],
) -> None:
    plain = (await get(client, "")).json()
    shortened = (await get(client, "", **{"Grpc-Timeout": "800m"})).json()
    longer = (await get(client, "", **{"Grpc-Timeout": "1H"})).json()
    # gRPC sends deadlines with coarse units, so allow a little over the exact budget.
    assert 4 < float(plain["data"]["dncList"][0]["type"]) <= 5.1
    assert 0.5 < float(shortened["data"]["dncList"][0]["type"]) <= 0.85
    assert 4 < float(longer["data"]["dncList"][0]["type"]) <= 5.1  # never past the gateway's own


@pytest.mark.asyncio
async def test_a_slow_service_is_a_504_at_the_deadline(client: TestClient[Any, Any]) -> None:
    started = asyncio.get_running_loop().time()
    error_envelope(await get(client, "sleep:3", **{"Grpc-Timeout": "300m"}), 504)
    assert asyncio.get_running_loop().time() - started < 2


@pytest.mark.asyncio
async def test_an_unexpected_error_is_a_logged_500_without_details(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="gateway"):
        reply = await get(client, "bad-timestamp")
    body = error_envelope(reply, 500)
    assert body["message"] == "Internal server error"
    assert "year" not in body["errorMessage"].lower()
    assert any(record.exc_info for record in caplog.records)


@pytest.mark.asyncio
async def test_healthz_follows_the_service_health(client: TestClient[Any, Any]) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "SERVING", "dncService": "SERVING"}
