"""The call context: the token verified once per call (by admission), the request id and log
fields reachable from the code that serves the call, and nothing leaking between calls."""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import pytest_asyncio

from dnc.v1 import dnc_pb2
from dnc_service import call
from dnc_service.admission import AdmissionInterceptor
from dnc_service.auth import Caller
from dnc_service.errors import Unauthenticated
from dnc_service.observability import ObservabilityInterceptor

Context = grpc.aio.ServicerContext[Any, Any]


class Counted:
    """A verifier that counts its calls; 'good' is the only valid token."""

    def __init__(self) -> None:
        self.calls = 0
        self.resolutions = 0

    def __call__(self, metadata: Any) -> str:
        self.calls += 1
        if ("authorization", "good") not in tuple(metadata or ()):
            raise Unauthenticated("no", reason="TOKEN_MISSING")
        return "user-1"


@pytest_asyncio.fixture
async def served() -> AsyncIterator[tuple[Counted, list[Any], grpc.aio.Channel]]:
    verify, seen = Counted(), []

    async def unary(request: dnc_pb2.ListDncRequest, context: Context) -> bytes:
        try:
            identity = call.verified(lambda: verify(context.invocation_metadata()))
        except Unauthenticated as error:
            identity = error.reason
        if identity == "user-1":  # as the servicer does: the caller admission resolved
            caller = await authenticate(context.invocation_metadata())
            assert caller.user_id == "user-1"
        call.annotate(page=1)
        current = call.current()
        seen.append((identity, call.request_id(), current and dict(current.fields)))
        return b"ok"

    handler = grpc.method_handlers_generic_handler(
        "test.T",
        {"Unary": grpc.unary_unary_rpc_method_handler(unary, dnc_pb2.ListDncRequest.FromString)},
    )

    async def authenticate(metadata: Any) -> Caller:
        async def resolve() -> Caller:
            verify.resolutions += 1
            return Caller("0" * 24, call.verified(lambda: verify(metadata)))

        return await call.resolved(resolve)

    server = grpc.aio.server(
        interceptors=[ObservabilityInterceptor(), AdmissionInterceptor(4, verify, authenticate)]
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield verify, seen, channel
    finally:
        await channel.close(None)
        await server.stop(None)


async def invoke(channel: grpc.aio.Channel, metadata: Any) -> bytes:
    method = channel.unary_unary("/test.T/Unary", lambda b: b, lambda b: b)
    answer: bytes = await method(b"", metadata=metadata, timeout=5)
    return answer


@pytest.mark.asyncio
async def test_the_token_is_verified_once_per_call(
    served: tuple[Counted, list[Any], grpc.aio.Channel],
) -> None:
    verify, seen, channel = served
    await invoke(channel, (("authorization", "good"), ("x-request-id", "r-1")))
    await invoke(channel, (("authorization", "bad"),))
    assert verify.calls == 2  # one per call, although admission and the method both ask
    assert verify.resolutions == 1  # the organization too, for the one verified call
    assert seen == [("user-1", "r-1", {"page": 1}), ("TOKEN_MISSING", None, {"page": 1})]


def test_outside_a_call_nothing_is_kept() -> None:
    calls: list[str] = []

    def verify(answer: str) -> str:
        calls.append(answer)
        return answer

    assert call.current() is None
    call.annotate(ignored=True)
    assert call.request_id() is None
    assert call.verified(lambda: verify("a")) == "a"
    assert call.verified(lambda: verify("b")) == "b"  # no call to remember it in
    assert calls == ["a", "b"]


def test_absent_or_empty_request_ids_are_none() -> None:
    assert call.request_id_of([("x-request-id-bin", b"1")]) is None
    assert call.request_id_of([("x-request-id", "")]) is None
    assert call.request_id_of(None) is None


@pytest.mark.parametrize("given", ["a", "x" * 128, "req-1:2/3;4", "~"])
def test_plain_request_ids_are_kept(given: str) -> None:
    assert call.request_id_of([("x-request-id", given)]) == given


@pytest.mark.parametrize(
    "given", ["x" * 129, "x" * 5000, "a b", "a\nb", "a\rb", "a\x00b", "a\x7f", "caf\u00e9", "\t"]
)
def test_other_request_ids_are_replaced_and_the_refusal_logged(
    given: str, caplog: pytest.LogCaptureFixture
) -> None:
    made = call.request_id_of([("x-request-id", given)])
    assert made is not None
    assert uuid.UUID(made).version == 4
    [record] = caplog.records
    assert record.getMessage().startswith("refused the caller's x-request-id")
    assert made in record.getMessage()
    assert given not in record.getMessage()


def test_the_time_limit_counts_from_the_calls_start() -> None:
    """Was: admission's user lookup and the servicer each had the whole limit (4 s for 2 s)."""
    assert call.elapsed() == 0.0  # outside a call
    context = contextvars.copy_context()

    def inside() -> tuple[float, float]:
        begun = call.begin((("x-request-id", "r-1"),))
        begun.started -= 1.5  # as if admission's lookup had taken 1.5 s
        return call.elapsed(), call.current() is begun

    spent, same = context.run(inside)
    assert same
    assert 1.5 <= spent < 2.5


def test_a_refused_replacement_is_logged_under_the_new_id_with_the_length_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    made = call.request_id_of([("x-request-id", "a b")])
    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert record.request_id == made  # type: ignore[attr-defined]  # the log's request_id field
    assert record.getMessage() == (
        "refused the caller's x-request-id (3 characters; an id is 1-128 printable ASCII "
        f"characters without spaces): this call's id is {made}"
    )


@pytest.mark.asyncio
async def test_a_refused_caller_is_refused_again_without_resolving_again() -> None:
    """The call keeps the refusal, as it keeps the caller: one user lookup per call."""
    resolutions: list[int] = []

    async def resolve() -> str:
        resolutions.append(1)
        raise Unauthenticated("no such user", reason="USER_NOT_FOUND")

    async def inside() -> list[str]:
        call.begin(())
        reasons = []
        for _ in range(2):
            with pytest.raises(Unauthenticated) as refused:
                await call.resolved(resolve)
            reasons.append(refused.value.reason)
        return reasons

    assert await asyncio.create_task(inside(), context=contextvars.copy_context()) == [
        "USER_NOT_FOUND",
        "USER_NOT_FOUND",
    ]
    assert resolutions == [1]


def test_ensure_opens_a_call_once_and_then_keeps_it() -> None:
    def inside() -> tuple[bool, str | None, bool]:
        opened = call.ensure((("x-request-id", "r-9"),))
        again = call.ensure((("x-request-id", "other"),))
        return opened is call.current(), opened.request_id, again is opened

    assert contextvars.copy_context().run(inside) == (True, "r-9", True)
