"""Bounded, fair admission: a call takes one of the server's slots only once it is real work,
and no organization takes more than its share of them.

grpc's own `maximum_concurrent_rpcs` counts a call from the moment it opens, before its request
message arrives, so calls that never send one (no token, no deadline) could hold every slot.
Here a call is admitted after its message is read (for unary-request calls) and its bearer token
verified (CPU only, once per call: the call context keeps the outcome for the servicer); a call
without a valid token takes no slot, since the servicer refuses it before any I/O.
A verified call takes a global slot, then its organization is resolved (the users store, cached
when DNC_ORG_CACHE_TTL_SECONDS is set; the call context keeps the Caller for the servicer) and
it takes one of that organization's slots too; a streaming call (export, import, scrub) also
takes one of the organization's stream slots, a smaller number, since a stream holds a cursor, a
database connection and memory for as long as its client takes. Over any limit, a call is
refused at once with RESOURCE_EXHAUSTED (reason OVERLOADED, ORG_OVERLOADED or
ORG_STREAMS_OVERLOADED, with a retry delay) rather than queued, so one organization's flood
leaves the other organizations' share free. A stream holds its slots for its whole life.
Health and reflection never take a slot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn, Protocol

import grpc

from dnc_common.wire import ORG_ID_TRAILER

from . import call
from .call import Metadata
from .errors import ResourceExhausted, abort
from .handlers import Behaviour, ServerInterceptor, rewrap, stream_of

# Methods that never take a slot.
EXEMPT_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")
# What a refusal tells the client to wait before retrying (RetryInfo, retry pushback, and
# Retry-After over REST): about one short call's time, so slots have turned over.
RETRY_AFTER_SECONDS = 1.0

Context = grpc.aio.ServicerContext[Any, Any]


class Caller(Protocol):
    """What admission needs of the caller: its organization (auth.Caller)."""

    @property
    def org_id(self) -> str: ...


class Slots:
    """A counter of calls in progress that refuses, never waits, past its limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken = 0

    def try_take(self) -> bool:
        if self.taken >= self.limit:
            return False
        self.taken += 1
        return True

    def give_back(self) -> None:
        self.taken -= 1


class OrgSlots:
    """Slots per organization, each counter refusing past `limit`; an organization with no
    call in progress has no entry, so the table never holds more organizations than calls."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken: dict[str, int] = {}

    def try_take(self, org_id: str) -> bool:
        taken = self.taken.get(org_id, 0)
        if taken >= self.limit:
            return False
        self.taken[org_id] = taken + 1
        return True

    def give_back(self, org_id: str) -> None:
        left = self.taken[org_id] - 1
        if left:
            self.taken[org_id] = left
        else:
            del self.taken[org_id]


def _nothing() -> None:
    """What a call that took no slot gives back."""


class AdmissionInterceptor(ServerInterceptor):
    """Wraps the behaviour of every call kind so each holds its slots while it runs.

    `verify` raises DncError for metadata without a valid bearer token (auth.verify_metadata);
    `authenticate` resolves the Caller (auth.Authenticator.authenticate, which keeps it in the
    call context).
    """

    def __init__(
        self,
        limit: int,
        verify: Callable[[Metadata], object],
        authenticate: Callable[[Metadata], Awaitable[Caller]],
        per_org_limit: int | None = None,
        streams_per_org_limit: int | None = None,
    ) -> None:
        self.slots = Slots(limit)
        self.org_slots = OrgSlots(limit if per_org_limit is None else per_org_limit)
        self.org_streams = OrgSlots(
            self.org_slots.limit if streams_per_org_limit is None else streams_per_org_limit
        )
        self._verify = verify
        self._authenticate = authenticate

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(EXEMPT_PREFIXES):
            return handler
        return rewrap(
            handler,
            self._unary(stream=False),
            self._streaming,
            client_streaming=self._unary(stream=True),
            bidi_streaming=self._streaming,
        )

    async def _enter(self, context: Context, stream: bool) -> Callable[[], None]:
        """Take the call's slots (none for a call without a valid token); what gives them back.

        Refuses the call (aborts it) when the server or the caller's organization is full, or,
        for a `stream`, when the organization has all the streams it may have open.
        """
        metadata = context.invocation_metadata()
        call.ensure(metadata)
        try:
            call.verified(lambda: self._verify(metadata))
        except Exception:  # whatever fails here, the servicer refuses before any I/O
            return _nothing
        if not self.slots.try_take():
            await _refuse(context, "the server is at capacity", "OVERLOADED")
        try:
            caller = await self._authenticate(metadata)
        except Exception:  # unknown user, database down: the servicer answers it (call context)
            return self.slots.give_back
        except BaseException:  # cancelled while resolving
            self.slots.give_back()
            raise
        org_id = caller.org_id
        refusal = self._take_org(org_id, stream)
        if refusal is not None:
            self.slots.give_back()
            context.set_trailing_metadata(((ORG_ID_TRAILER, org_id),))
            await _refuse(context, *refusal)

        def give_back() -> None:
            if stream:
                self.org_streams.give_back(org_id)
            self.org_slots.give_back(org_id)
            self.slots.give_back()

        return give_back

    def _take_org(self, org_id: str, stream: bool) -> tuple[str, str] | None:
        """Take the organization's slot (and stream slot): None, or why the call is refused."""
        if not self.org_slots.try_take(org_id):
            return "your organization has too many calls in progress", "ORG_OVERLOADED"
        if stream and not self.org_streams.try_take(org_id):
            self.org_slots.give_back(org_id)
            return "your organization has too many streams open", "ORG_STREAMS_OVERLOADED"
        return None

    def _unary(self, stream: bool) -> Callable[[Behaviour], Behaviour]:
        """Unary and client-streaming calls (`stream`): the slots are held until the answer is
        returned."""

        def wrap(behaviour: Behaviour) -> Behaviour:
            async def admitted(request: Any, context: Context) -> Any:
                give_back = await self._enter(context, stream)
                try:
                    return await behaviour(request, context)
                finally:
                    give_back()

            return admitted

        return wrap

    def _streaming(self, behaviour: Behaviour) -> Behaviour:
        """Server- and bidi-streaming calls: the slots are held until the stream ends."""

        async def admitted(request: Any, context: Context) -> AsyncIterator[Any]:
            give_back = await self._enter(context, stream=True)
            try:
                async for response in stream_of(behaviour, request, context):
                    yield response
            finally:
                give_back()

        return admitted


async def _refuse(context: Context, why: str, reason: str) -> NoReturn:
    await abort(
        context,
        ResourceExhausted(
            f"{why}, retry with backoff", reason=reason, retry_after_seconds=RETRY_AFTER_SECONDS
        ),
    )
