"""Rewrapping a method handler's behaviours: what both server interceptors (admission and
observability) do to calls of each kind (unary, server, client and bidirectional streaming),
written once."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, cast

import grpc

Behaviour = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Any]
Wrap = Callable[[Behaviour], Behaviour]
Deserializer = Callable[[bytes], Any] | None

if TYPE_CHECKING:
    ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
else:  # not subscriptable at run time
    ServerInterceptor = grpc.aio.ServerInterceptor


def rewrap(
    handler: grpc.RpcMethodHandler[Any, Any],
    unary: Wrap,
    streaming: Wrap | None,
    request_deserializer: Deserializer = None,
    *,
    client_streaming: Wrap | None = None,
    bidi_streaming: Wrap | None = None,
) -> grpc.RpcMethodHandler[Any, Any]:
    """The handler with its behaviour wrapped by the wrap given for its kind: `unary`,
    `streaming` (server streaming), `client_streaming` or `bidi_streaming`; a handler whose
    kind has no wrap (e.g. reflection, for observability) comes back untouched.

    `request_deserializer` replaces the handler's own for unary-request kinds only: a stream's
    messages are the servicer's to read.
    """
    kinds: tuple[tuple[Any, Wrap | None, Any, Deserializer], ...] = (
        (handler.unary_unary, unary, grpc.unary_unary_rpc_method_handler, request_deserializer),
        (handler.unary_stream, streaming, grpc.unary_stream_rpc_method_handler,
         request_deserializer),
        (handler.stream_unary, client_streaming, grpc.stream_unary_rpc_method_handler, None),
        (handler.stream_stream, bidi_streaming, grpc.stream_stream_rpc_method_handler, None),
    )  # fmt: skip
    for behaviour, wrap, make, deserializer in kinds:
        if behaviour is None:
            continue
        if wrap is None:
            return handler
        wrapped: grpc.RpcMethodHandler[Any, Any] = make(
            wrap(cast(Behaviour, behaviour)),
            request_deserializer=deserializer or handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        return wrapped
    return handler


async def stream_of(
    behaviour: Behaviour, request: Any, context: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[Any]:
    """Run a server- or bidi-streaming behaviour of either style: an async generator, or a
    coroutine that writes with `context.write` (then nothing is yielded here). `request` is the
    request message, or the request iterator of a bidi stream."""
    result = behaviour(request, context)
    if inspect.isasyncgen(result):
        async for response in result:
            yield response
    else:
        await result
