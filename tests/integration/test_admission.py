"""Admission: calls that never send their message, or send no valid token, hold no capacity;
connections are bounded in streams, age and idleness."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymongo.database import Database

from data_support import Document, OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from service_support import service_env, start_service

LIST_DNC = "/dnc.v1.DncService/ListDnc"
IDLE_CALLS = 300
OWN_CONNECTION = (("grpc.use_local_subchannel_pool", 1),)


async def never_yields(stop: asyncio.Event) -> AsyncIterator[bytes]:
    """A request stream that sends nothing until the test ends."""
    await stop.wait()
    return
    yield b""  # an async generator that never produces a message


async def idle_calls_then_real_ones(target: str, metadata: tuple[tuple[str, str]]) -> None:
    stop = asyncio.Event()
    # The attacker: anonymous, no deadline, opening calls it never completes, on a connection
    # of its own (channels to one target otherwise share one).
    async with grpc.aio.insecure_channel(target, options=OWN_CONNECTION) as attacker:
        open_call = attacker.stream_unary(LIST_DNC, lambda b: b, lambda b: b)
        calls = [open_call(never_yields(stop)) for _ in range(IDLE_CALLS)]
        connected: list[asyncio.Future[None]] = []
        try:
            # A call is open on the server once its headers have gone out; the server takes
            # DNC_GRPC_MAX_CONCURRENT_STREAMS (100) of them on this connection, in any order.
            connected += [asyncio.ensure_future(call.wait_for_connection()) for call in calls]
            async with asyncio.timeout(10):
                for count, next_done in enumerate(asyncio.as_completed(connected), start=1):
                    await next_done
                    if count == 100:
                        break
            async with grpc.aio.insecure_channel(target) as channel:
                stub = dnc_pb2_grpc.DncServiceStub(channel)
                health = health_pb2_grpc.HealthStub(channel)
                for _ in range(3):
                    response = await stub.ListDnc(
                        dnc_pb2.ListDncRequest(), metadata=metadata, timeout=5
                    )
                    assert response.pagination.total == 2
                    status = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
                    assert status.status == health_pb2.HealthCheckResponse.SERVING
            assert not any(call.done() for call in calls)  # the idle calls are still open
        finally:
            stop.set()
            for call in calls:
                call.cancel()
            for waiting in connected:
                waiting.cancel()


def test_idle_anonymous_calls_do_not_starve_real_callers(
    tmp_path: Path, mongo_uri: str, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    org = new_org(entries=2)
    env = service_env(mongo_uri, mongo_db.name, DNC_MAX_CONCURRENT_RPCS="256")
    with start_service(env, tmp_path / "service.log") as service:
        asyncio.run(idle_calls_then_real_ones(service.target, org.metadata))
        assert "Traceback" not in service.process.log()


async def idle_call_outcome(target: str) -> grpc.StatusCode:
    stop = asyncio.Event()
    async with grpc.aio.insecure_channel(target) as attacker:
        call = attacker.stream_unary(LIST_DNC, lambda b: b, lambda b: b)(never_yields(stop))
        try:
            await asyncio.wait_for(call, 20)
        except grpc.aio.AioRpcError as error:
            return error.code()
        finally:
            stop.set()
    raise AssertionError("an idle call completed")


def test_an_idle_call_ends_with_its_connection(
    tmp_path: Path, mongo_uri: str, mongo_db: Database[Document]
) -> None:
    env = service_env(
        mongo_uri,
        mongo_db.name,
        DNC_GRPC_MAX_CONNECTION_AGE_SECONDS="1",
        DNC_GRPC_MAX_CONNECTION_AGE_GRACE_SECONDS="1",
    )
    with start_service(env, tmp_path / "service.log") as service:
        # Past the connection's age and grace the server closes it, and the call with it.
        assert asyncio.run(idle_call_outcome(service.target)) == grpc.StatusCode.UNAVAILABLE
