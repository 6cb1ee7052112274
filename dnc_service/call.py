"""The call context: what one RPC carries from the interceptors to the code that serves it.

The observability interceptor opens it (the request id, the fields of the access-log line);
admission verifies the bearer token and resolves the caller's organization, and the context keeps
both outcomes, so the servicer reads the caller instead of verifying the token or looking the
user up a second time. Inner layers (servicer, requests,
store) use `annotate`, `request_id` and `verified` and never import an interceptor. The context
lives in a ContextVar: grpc.aio runs an interceptor's wrapper and the behaviour it wraps in one
task, so whatever the wrapper opens, the behaviour sees, and no other call does.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from typing import Any, TypeVar

from dnc_common.wire import MAX_REQUEST_ID_CHARS, REQUEST_ID_KEY, is_request_id

from .errors import DncError

logger = logging.getLogger(__name__)
Metadata = Iterable[tuple[str, str | bytes]] | None
T = TypeVar("T")


class Call:
    """One call's request id, log fields, verified identity and resolved caller (or why it
    has none)."""

    __slots__ = ("_caller", "_outcome", "fields", "request_id", "started")

    def __init__(self, request_id: str | None) -> None:
        self.request_id = request_id
        # When the call began (monotonic): the server's time limit counts from here, so the
        # user lookup admission makes before the servicer runs is part of it.
        self.started = time.monotonic()
        self.fields: dict[str, Any] = {}
        self._outcome: Any = None
        self._caller: Any = None

    def verified(self, verify: Callable[[], T]) -> T:
        """`verify()` on the first ask, its result (or its DncError) on every later one."""
        if self._outcome is None:
            try:
                self._outcome = (verify(),)
            except DncError as refusal:
                self._outcome = refusal
        if isinstance(self._outcome, DncError):
            raise self._outcome
        value: T = self._outcome[0]
        return value

    async def resolved(self, resolve: Callable[[], Awaitable[T]]) -> T:
        """`await resolve()` on the first ask, its result (or its DncError) on every later one."""
        if self._caller is None:
            try:
                self._caller = (await resolve(),)
            except DncError as refusal:
                self._caller = refusal
        if isinstance(self._caller, DncError):
            raise self._caller
        value: T = self._caller[0]
        return value


_current: ContextVar[Call | None] = ContextVar("dnc_call", default=None)


def begin(metadata: Metadata) -> Call:
    """Open the context of the call with `metadata`, for the rest of the current task."""
    call = Call(request_id_of(metadata))
    _current.set(call)
    return call


def ensure(metadata: Metadata) -> Call:
    """The current call's context, opened here when no interceptor opened one (call kinds the
    observability interceptor passes through)."""
    return _current.get() or begin(metadata)


def current() -> Call | None:
    """The context of the call being served; None outside one (e.g. a bare servicer in tests)."""
    return _current.get()


def elapsed() -> float:
    """Seconds since the current call began (0 outside a call)."""
    call = _current.get()
    return 0.0 if call is None else time.monotonic() - call.started


def annotate(**fields: Any) -> None:
    """Add fields to the current call's access-log line (no-op outside a call)."""
    call = _current.get()
    if call is not None:
        call.fields.update(fields)


def request_id() -> str | None:
    """The current call's request id (metadata x-request-id); None when absent."""
    call = _current.get()
    return call.request_id if call is not None else None


def verified(verify: Callable[[], T]) -> T:
    """The caller's identity, verified once per call by whoever asks first (see Call)."""
    call = _current.get()
    return verify() if call is None else call.verified(verify)


async def resolved(resolve: Callable[[], Awaitable[T]]) -> T:
    """The caller, resolved once per call by whoever asks first (admission, else the servicer)."""
    call = _current.get()
    return await resolve() if call is None else await call.resolved(resolve)


def request_id_of(metadata: Metadata) -> str | None:
    """The caller's request id in `metadata`; None when absent or empty.

    One that is not 1-128 printable ASCII characters without spaces is not used (it would reach
    log lines and audit records as sent): a new one is made, and the refusal logged under it.
    """
    for key, value in metadata or ():
        if key == REQUEST_ID_KEY and isinstance(value, str) and value:
            return value if is_request_id(value) else _replacement(value)
    return None


def _replacement(refused: str) -> str:
    made = str(uuid.uuid4())
    logger.warning(
        "refused the caller's x-request-id (%d characters; an id is 1-%d printable ASCII "
        "characters without spaces): this call's id is %s",
        len(refused), MAX_REQUEST_ID_CHARS, made,
        extra={"request_id": made},
    )  # fmt: skip
    return made
