"""Fairness (issue 18, finding 3): no organization holds more than its share of the service's
admission slots, streams hold theirs for their whole life, slots come back however a call ends,
and CPU-heavy checks leave the event loop to everyone else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymongo.database import Database

from data_support import BASE_TIME, Document, Org, OrgFactory, make_entry
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from gateway_support import GatewayFactory, error_envelope
from service_support import Service, service_env, start_service
from support import refusal_details

PER_ORG = 2
# Entries of the flooding organization's exports, each with a 1 KiB transcription: far more
# than a stream's flow-control window, so an export whose client stops reading stays open.
EXPORT_ENTRIES = 1500
# A client that never grows its window (no BDP probing) on a connection of its own.
SLOW_READER = (("grpc.http2.bdp_probe", 0), ("grpc.use_local_subchannel_pool", 1))
# Numbers phonenumbers works hard on and then refuses (too long): CPU only, no database.
PATHOLOGICAL = ["+" + "1" * 31] * 1000


@contextmanager
def fair_service(
    tmp_path: Path, mongo_uri: str, mongo_db: Database[Document], **limits: str
) -> Iterator[Service]:
    """The real service with 8 slots, `limits` (per organization) on top; no traceback logged."""
    env = service_env(mongo_uri, mongo_db.name, DNC_MAX_CONCURRENT_RPCS="8", **limits)
    with start_service(env, tmp_path / "service.log") as started:
        yield started
        assert "Traceback" not in started.process.log()


@pytest.fixture
def service(tmp_path: Path, mongo_uri: str, mongo_db: Database[Document]) -> Iterator[Service]:
    with fair_service(
        tmp_path, mongo_uri, mongo_db, DNC_MAX_CONCURRENT_RPCS_PER_ORG=str(PER_ORG)
    ) as started:
        yield started


@pytest.fixture
def flooder(new_org: OrgFactory, mongo_db: Database[Document]) -> Iterator[Org]:
    """An organization whose exports outgrow a stream's window; its entries are removed after
    the test (FerretDB scans the whole collection per query: they would slow later tests)."""
    org = new_org()
    entries = [
        make_entry(org.org_id, n, BASE_TIME, transcription="x" * 1024)
        for n in range(EXPORT_ENTRIES)
    ]
    yield new_org(entries, org_id=org.org_id)
    mongo_db.dnc_entries.delete_many({"orgId": org.org_id})


@asynccontextmanager
async def held_exports(target: str, org: Org, count: int) -> AsyncIterator[list[object]]:
    """`count` exports of `org` that read one entry each, then stall (their slots held)."""
    async with grpc.aio.insecure_channel(target, options=SLOW_READER) as channel:
        stub = dnc_pb2_grpc.DncServiceStub(channel)
        calls = [
            stub.ExportDnc(dnc_pb2.ExportDncRequest(), metadata=org.metadata, timeout=60)
            for _ in range(count)
        ]
        try:
            for each in calls:
                assert isinstance(await each.read(), dnc_pb2.DncEntry)  # running, slot taken
            yield list(calls)
        finally:
            for each in calls:
                each.cancel()


async def list_outcome(stub: dnc_pb2_grpc.DncServiceAsyncStub, org: Org) -> grpc.StatusCode:
    try:
        await stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=org.metadata, timeout=10)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def one_message(message: Any) -> AsyncIterator[Any]:
    yield message


async def streaming_codes(
    stub: dnc_pb2_grpc.DncServiceAsyncStub, org: Org
) -> tuple[grpc.StatusCode, grpc.StatusCode]:
    """The codes of one ImportDnc (client streaming) and one ScrubDnc (bidi) call of `org`.

    Admitted, they reach the servicer (UNIMPLEMENTED until issue 17's RPCs land, then OK)."""
    number = "+12125550100"
    imported = stub.ImportDnc(
        one_message(
            dnc_pb2.ImportDncRequest(
                entries=[dnc_pb2.AddDncRequest(phone_number=number)], dry_run=True
            )
        ),
        metadata=org.metadata,
        timeout=10,
    )
    scrubbed = stub.ScrubDnc(
        one_message(dnc_pb2.ScrubDncRequest(phone_numbers=[number])),
        metadata=org.metadata,
        timeout=10,
    )
    with contextlib.suppress(grpc.aio.AioRpcError):
        await imported
    with contextlib.suppress(grpc.aio.AioRpcError):
        async for _ in scrubbed:
            pass
    return await imported.code(), await scrubbed.code()


async def until_served(stub: dnc_pb2_grpc.DncServiceAsyncStub, org: Org) -> None:
    """Poll until `org` is served again (the server frees slots as it notices calls end)."""
    async with asyncio.timeout(10):
        while (code := await list_outcome(stub, org)) != grpc.StatusCode.OK:
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
            await asyncio.sleep(0.05)


def test_an_organization_at_its_limit_is_refused_while_another_is_served(
    service: Service, new_org: OrgFactory, flooder: Org
) -> None:
    other = new_org(entries=2)

    async def scenario() -> None:
        async with grpc.aio.insecure_channel(service.target) as channel:
            stub = dnc_pb2_grpc.DncServiceStub(channel)
            async with held_exports(service.target, flooder, PER_ORG):
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=flooder.metadata)
                assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert refusal_details(raised.value) == ("ORG_OVERLOADED", 1000, "1000")
                # Client- and bidi-streaming calls are admitted the same way.
                for org, admitted in ((flooder, False), (other, True)):
                    codes = await streaming_codes(stub, org)
                    assert all(
                        (code != grpc.StatusCode.RESOURCE_EXHAUSTED) == admitted for code in codes
                    ), (org, codes)
                # The other organization is served, over and over, while the streams stall.
                for _ in range(PER_ORG * 3):
                    answer = await stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=other.metadata)
                    assert answer.pagination.total == 2
            # The streams held their slots for their life; cancelled, they give them back.
            await until_served(stub, flooder)

    asyncio.run(scenario())


def test_over_rest_the_refusal_is_429_with_retry_after(
    service: Service, new_org: OrgFactory, flooder: Org, gateway_factory: GatewayFactory
) -> None:
    other = new_org(entries=1)
    gateway = gateway_factory(service.target)

    async def scenario() -> None:
        async with held_exports(service.target, flooder, PER_ORG):
            refused = await asyncio.to_thread(gateway.get, "/api/dnc/list", flooder.token)
            body = error_envelope(refused, 429)
            assert "too many calls in progress" in body["errorMessage"]
            assert refused.headers["Retry-After"] == "1"
            served = await asyncio.to_thread(gateway.get, "/api/dnc/list", other.token)
            assert served.status == 200
            assert served.json()["data"]["pagination"]["total"] == 1

    asyncio.run(scenario())


def test_slots_come_back_after_errors(service: Service, new_org: OrgFactory) -> None:
    org = new_org(entries=1)
    number = "+12125550199"

    async def scenario() -> None:
        async with grpc.aio.insecure_channel(service.target) as channel:
            stub = dnc_pb2_grpc.DncServiceStub(channel)
            await stub.AddDnc(dnc_pb2.AddDncRequest(phone_number=number), metadata=org.metadata)
            meta = org.metadata
            failing: list[tuple[Callable[[], Awaitable[object]], grpc.StatusCode]] = [
                (
                    lambda: stub.ListDnc(dnc_pb2.ListDncRequest(page=0), metadata=meta),
                    grpc.StatusCode.INVALID_ARGUMENT,
                ),
                (
                    lambda: stub.AddDnc(dnc_pb2.AddDncRequest(phone_number=number), metadata=meta),
                    grpc.StatusCode.ALREADY_EXISTS,
                ),
                (
                    lambda: stub.RemoveDnc(dnc_pb2.RemoveDncRequest(id="0" * 24), metadata=meta),
                    grpc.StatusCode.NOT_FOUND,
                ),
            ]
            for failing_call, code in failing * PER_ORG:
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await failing_call()
                assert raised.value.code() == code
            assert await list_outcome(stub, org) == grpc.StatusCode.OK

    asyncio.run(scenario())


def test_a_caller_out_of_time_gives_its_slot_back(service: Service, flooder: Org) -> None:

    async def scenario() -> None:
        async with grpc.aio.insecure_channel(service.target, options=SLOW_READER) as channel:
            stub = dnc_pb2_grpc.DncServiceStub(channel)
            # Exports that stall until their deadline passes: the server ends them, not us.
            calls = [
                stub.ExportDnc(dnc_pb2.ExportDncRequest(), metadata=flooder.metadata, timeout=4)
                for _ in range(PER_ORG)
            ]
            for each in calls:
                assert await each.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            await until_served(stub, flooder)

    asyncio.run(scenario())


def test_health_is_answered_while_heavy_checks_run(service: Service, new_org: OrgFactory) -> None:
    orgs = [new_org() for _ in range(3)]

    async def scenario() -> int:
        async with grpc.aio.insecure_channel(service.target) as channel:
            stub = dnc_pb2_grpc.DncServiceStub(channel)
            health = health_pb2_grpc.HealthStub(channel)
            request = dnc_pb2.CheckDncRequest(phone_numbers=PATHOLOGICAL)
            await stub.CheckDnc(request, metadata=orgs[0].metadata)  # warm: token, user, code
            checks = [
                asyncio.ensure_future(stub.CheckDnc(request, metadata=org.metadata, timeout=60))
                for org in orgs * PER_ORG
            ]
            answered = 0
            while not all(check.done() for check in checks):
                status = await health.Check(health_pb2.HealthCheckRequest(), timeout=30)
                assert status.status == health_pb2.HealthCheckResponse.SERVING
                answered += not all(check.done() for check in checks)
            for check in checks:
                assert len((await check).results) == len(PATHOLOGICAL)
            return answered

    answered = asyncio.run(scenario())
    print(f"health answered {answered} times during the checks")
    assert answered >= 2 * len(orgs) * PER_ORG


def test_an_organization_has_fewer_streams_than_calls(
    tmp_path: Path, mongo_uri: str, mongo_db: Database[Document], flooder: Org
) -> None:
    limits = {
        "DNC_MAX_CONCURRENT_RPCS_PER_ORG": "3",
        "DNC_MAX_CONCURRENT_STREAMING_RPCS_PER_ORG": "1",
    }

    async def scenario(target: str) -> None:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = dnc_pb2_grpc.DncServiceStub(channel)
            async with held_exports(target, flooder, 1):
                export = stub.ExportDnc(dnc_pb2.ExportDncRequest(), metadata=flooder.metadata)
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await export.read()
                assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert refusal_details(raised.value)[0] == "ORG_STREAMS_OVERLOADED"
                assert set(await streaming_codes(stub, flooder)) == {
                    grpc.StatusCode.RESOURCE_EXHAUSTED
                }
                # Its unary calls still have slots.
                assert await list_outcome(stub, flooder) == grpc.StatusCode.OK
            await until_exported(stub, flooder)

    with fair_service(tmp_path, mongo_uri, mongo_db, **limits) as service:
        asyncio.run(scenario(service.target))


async def until_exported(stub: dnc_pb2_grpc.DncServiceAsyncStub, org: Org) -> None:
    """Poll until an export of `org` is admitted again (its stream slot came back)."""
    async with asyncio.timeout(10):
        while (code := await export_outcome(stub, org)) != grpc.StatusCode.OK:
            assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
            await asyncio.sleep(0.05)


async def export_outcome(stub: dnc_pb2_grpc.DncServiceAsyncStub, org: Org) -> grpc.StatusCode:
    """OK once an export of `org` streams its first entry (then it is cancelled), else its code."""
    export = stub.ExportDnc(dnc_pb2.ExportDncRequest(), metadata=org.metadata, timeout=10)
    try:
        await export.read()
    except grpc.aio.AioRpcError as error:
        return error.code()
    export.cancel()
    return grpc.StatusCode.OK
