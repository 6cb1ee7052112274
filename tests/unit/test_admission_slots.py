"""Admission without a server: the counters' bounds, the limits' defaults, and each refusal's
status, text, retry delay and trailers, with the slots given back, through `_enter` on a context
that records what it is asked."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, cast

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]

from dnc_service import call
from dnc_service.admission import (
    EXEMPT_PREFIXES,
    RETRY_AFTER_SECONDS,
    AdmissionInterceptor,
    OrgSlots,
    Slots,
)
from dnc_service.auth import Caller
from dnc_service.errors import Unauthenticated

TOKEN = (("authorization", "good"),)
DETAILS_KEY = "grpc-status-details-bin"


class Aborted(grpc.aio.AbortError):
    """What grpc.aio's context.abort raises."""


class Context:
    """A servicer context that records the trailers set and the abort."""

    def __init__(self, metadata: Any = TOKEN) -> None:
        self._metadata = metadata
        self.trailers: Any = None
        self.aborted: tuple[grpc.StatusCode, str, tuple[tuple[str, Any], ...]] | None = None

    def invocation_metadata(self) -> Any:
        return self._metadata

    def set_trailing_metadata(self, trailers: Any) -> None:
        self.trailers = trailers

    def trailing_metadata(self) -> Any:
        return self.trailers

    async def abort(self, code: grpc.StatusCode, details: str, trailers: Any) -> None:
        self.aborted = (code, details, trailers)
        raise Aborted


def verify(metadata: Any) -> str:
    if TOKEN[0] not in tuple(metadata or ()):
        raise Unauthenticated("no")
    return "good"


def caller_of(org: str) -> Callable[[Any], Awaitable[Caller]]:
    async def authenticate(metadata: Any) -> Caller:
        return Caller(org, "user")

    return authenticate


def interceptor(
    limit: int = 4,
    org: str = "org-a",
    per_org: int | None = None,
    streams: int | None = None,
    authenticate: Callable[[Any], Awaitable[Caller]] | None = None,
) -> AdmissionInterceptor:
    return AdmissionInterceptor(limit, verify, authenticate or caller_of(org), per_org, streams)


def enter(admission: AdmissionInterceptor, stream: bool, context: Context | None = None) -> Any:
    async def run() -> Any:
        return await admission._enter(cast(Any, context or Context()), stream)

    return asyncio.run(run())


def refused(admission: AdmissionInterceptor, stream: bool) -> tuple[Any, ...]:
    context = Context()
    with pytest.raises(Aborted):
        enter(admission, stream, context)
    assert context.aborted is not None
    code, details, trailers = context.aborted
    return code, details, [key for key, _ in trailers], dict(trailers).get("grpc-retry-pushback-ms")


def reason_of(context: Context) -> str:
    """The ErrorInfo reason in the aborted call's status details."""
    assert context.aborted is not None
    status = status_pb2.Status.FromString(dict(context.aborted[2])[DETAILS_KEY])
    info = error_details_pb2.ErrorInfo()
    (found,) = [detail for detail in status.details if detail.Is(info.DESCRIPTOR)]
    found.Unpack(info)
    return str(info.reason)


def test_the_module_constants() -> None:
    assert EXEMPT_PREFIXES == ("/grpc.health.v1.", "/grpc.reflection.")
    assert RETRY_AFTER_SECONDS == 1.0


def test_slots_are_taken_up_to_the_limit_and_given_back() -> None:
    slots = Slots(2)
    assert [slots.try_take() for _ in range(3)] == [True, True, False]
    assert slots.taken == 2
    slots.give_back()
    assert slots.taken == 1
    assert slots.try_take()
    assert not Slots(0).try_take()


def test_organization_slots_count_each_organization_alone() -> None:
    slots = OrgSlots(2)
    assert [slots.try_take("a") for _ in range(3)] == [True, True, False]
    assert slots.taken == {"a": 2}
    assert slots.try_take("b")
    slots.give_back("a")
    assert slots.taken == {"a": 1, "b": 1}
    assert not OrgSlots(0).try_take("a")


def test_the_organization_limits_default_to_the_server_limit_then_to_the_calls() -> None:
    admission = interceptor(limit=5)
    assert (admission.slots.limit, admission.org_slots.limit, admission.org_streams.limit) == (
        5,
        5,
        5,
    )
    admission = interceptor(limit=5, per_org=3)
    assert (admission.org_slots.limit, admission.org_streams.limit) == (3, 3)
    admission = interceptor(limit=5, per_org=3, streams=1)
    assert (admission.org_slots.limit, admission.org_streams.limit) == (3, 1)


def test_an_admitted_stream_holds_three_slots_until_it_gives_them_back() -> None:
    admission = interceptor()
    give_back = enter(admission, stream=True)
    assert (admission.slots.taken, admission.org_slots.taken, admission.org_streams.taken) == (
        1,
        {"org-a": 1},
        {"org-a": 1},
    )
    give_back()
    assert (admission.slots.taken, admission.org_slots.taken, admission.org_streams.taken) == (
        0,
        {},
        {},
    )


def test_an_admitted_unary_call_takes_no_stream_slot() -> None:
    admission = interceptor()
    give_back = enter(admission, stream=False)
    assert (admission.slots.taken, admission.org_slots.taken, admission.org_streams.taken) == (
        1,
        {"org-a": 1},
        {},
    )
    give_back()
    assert (admission.slots.taken, admission.org_slots.taken) == (0, {})


def test_a_call_without_a_valid_token_takes_nothing() -> None:
    admission = interceptor(limit=0)
    give_back = enter(admission, stream=True, context=Context(metadata=()))
    assert give_back() is None
    assert (admission.slots.taken, admission.org_slots.taken) == (0, {})


def test_a_full_server_refuses_with_its_text_and_a_retry_delay() -> None:
    admission = interceptor(limit=1)
    enter(admission, stream=False)
    context = Context()
    with pytest.raises(Aborted):
        enter(admission, False, context)
    assert reason_of(context) == "OVERLOADED"
    assert refused(admission, stream=False) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "the server is at capacity, retry with backoff",
        [DETAILS_KEY, "grpc-retry-pushback-ms"],
        "1000",
    )
    assert admission.slots.taken == 1


def test_a_full_organization_refuses_naming_it_and_gives_the_server_slot_back() -> None:
    admission = interceptor(limit=3, per_org=1)
    enter(admission, stream=False)
    context = Context()
    with pytest.raises(Aborted):
        enter(admission, False, context)
    assert context.aborted is not None
    code, details, trailers = context.aborted
    assert (code, details) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "your organization has too many calls in progress, retry with backoff",
    )
    assert trailers[0] == ("dnc-org-id", "org-a")
    assert reason_of(context) == "ORG_OVERLOADED"
    assert context.trailers == (("dnc-org-id", "org-a"),)
    assert admission.slots.taken == 1
    assert admission.org_slots.taken == {"org-a": 1}


def test_an_organization_with_all_its_streams_open_gives_both_slots_back() -> None:
    admission = interceptor(limit=4, per_org=3, streams=1)
    enter(admission, stream=True)
    context = Context()
    with pytest.raises(Aborted):
        enter(admission, True, context)
    assert reason_of(context) == "ORG_STREAMS_OVERLOADED"
    assert refused(admission, stream=True)[:2] == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "your organization has too many streams open, retry with backoff",
    )
    assert (admission.slots.taken, admission.org_slots.taken, admission.org_streams.taken) == (
        1,
        {"org-a": 1},
        {"org-a": 1},
    )
    assert enter(admission, stream=False) is not None  # a unary call is still admitted


def test_a_caller_the_store_cannot_resolve_gives_back_only_the_server_slot() -> None:
    async def unknown(metadata: Any) -> Caller:
        raise Unauthenticated("unknown user")

    admission = interceptor(authenticate=unknown)
    give_back = enter(admission, stream=True)
    assert (admission.slots.taken, admission.org_slots.taken) == (1, {})
    give_back()
    assert admission.slots.taken == 0


def test_a_call_cancelled_while_resolving_gives_its_slot_back() -> None:
    async def cancelled(metadata: Any) -> Caller:
        raise asyncio.CancelledError

    admission = interceptor(authenticate=cancelled)
    with pytest.raises(asyncio.CancelledError):
        enter(admission, stream=False)
    assert admission.slots.taken == 0


def test_health_and_reflection_are_not_wrapped() -> None:
    handler = grpc.unary_unary_rpc_method_handler(lambda request, context: request)

    async def continuation(details: Any) -> Any:
        return handler if details.method.startswith("/") else None

    class Details:
        def __init__(self, method: str) -> None:
            self.method = method

    async def wrapped(method: str) -> Any:
        return await interceptor().intercept_service(continuation, cast(Any, Details(method)))

    assert asyncio.run(wrapped("/grpc.health.v1.Health/Check")) is handler
    assert asyncio.run(wrapped("/grpc.reflection.v1.ServerReflection/Info")) is handler
    assert asyncio.run(wrapped("/dnc.v1.DncService/CheckDnc")) is not handler


def test_a_call_context_is_opened_with_the_calls_request_id() -> None:
    admission = interceptor()

    async def run() -> str | None:
        context = Context(metadata=(*TOKEN, ("x-request-id", "req-7")))
        await admission._enter(cast(Any, context), False)
        opened = call.current()
        assert opened is not None
        return opened.request_id

    assert asyncio.run(run()) == "req-7"
