"""Bounded, fair admission: a call takes one of the server's slots only once it is real work.

grpc's own `maximum_concurrent_rpcs` counts a call from the moment it opens, before its request
message arrives, so calls that never send one (no token, no deadline) could hold every slot.
Here a call is admitted after its message is read and its bearer token verified (CPU only,
once per call: the call context keeps the outcome for the servicer); a call without a valid
token takes no slot, since the servicer refuses it before any I/O.
Over the limit, a call is refused at once with RESOURCE_EXHAUSTED rather than queued. Health
and reflection never take a slot, so probes and tooling are never starved.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn

import grpc

from . import call
from .call import Metadata
from .errors import ResourceExhausted, abort
from .handlers import Behaviour, ServerInterceptor, rewrap, stream_of

# Methods that never take a slot.
EXEMPT_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")


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


class AdmissionInterceptor(ServerInterceptor):
    """Wraps unary and server-streaming behaviours so each holds a slot while it runs.

    `verify` raises DncError for metadata without a valid bearer token (auth.verify_metadata).
    """

    def __init__(self, limit: int, verify: Callable[[Metadata], object]) -> None:
        self.slots = Slots(limit)
        self._verify = verify

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
        return rewrap(handler, self._unary, self._streaming)

    def _needs_slot(self, context: grpc.aio.ServicerContext[Any, Any]) -> bool:
        try:
            call.verified(lambda: self._verify(context.invocation_metadata()))
        except Exception:  # whatever fails here, the servicer refuses before any I/O
            return False
        return True

    async def _refuse(self, context: grpc.aio.ServicerContext[Any, Any]) -> NoReturn:
        await abort(
            context,
            ResourceExhausted("the server is at capacity, retry with backoff", reason="OVERLOADED"),
        )

    def _unary(self, behaviour: Behaviour) -> Behaviour:
        async def admitted(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            if not self._needs_slot(context):
                return await behaviour(request, context)
            if not self.slots.try_take():
                await self._refuse(context)
            try:
                return await behaviour(request, context)
            finally:
                self.slots.give_back()

        return admitted

    def _streaming(self, behaviour: Behaviour) -> Behaviour:
        async def admitted(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            needs_slot = self._needs_slot(context)
            if needs_slot and not self.slots.try_take():
                await self._refuse(context)
            try:
                async for response in stream_of(behaviour, request, context):
                    yield response
            finally:
                if needs_slot:
                    self.slots.give_back()

        return admitted
