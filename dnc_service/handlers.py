"""Rewrapping a method handler's behaviours: what both server interceptors (admission and
observability) do to unary and server-streaming calls, written once."""

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
) -> grpc.RpcMethodHandler[Any, Any]:
    """The handler with its unary (and, given `streaming`, server-streaming) behaviour wrapped;
    client-streaming and bidirectional handlers (reflection) come back untouched."""
    deserializer = request_deserializer or handler.request_deserializer
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            unary(cast(Behaviour, handler.unary_unary)),
            request_deserializer=deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream is not None and streaming is not None:
        return grpc.unary_stream_rpc_method_handler(
            streaming(cast(Behaviour, handler.unary_stream)),
            request_deserializer=deserializer,
            response_serializer=handler.response_serializer,
        )
    return handler


async def stream_of(
    behaviour: Behaviour, request: Any, context: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[Any]:
    """Run a server-streaming behaviour of either style: an async generator, or a coroutine
    that writes with `context.write` (then nothing is yielded here)."""
    result = behaviour(request, context)
    if inspect.isasyncgen(result):
        async for response in result:
            yield response
    else:
        await result
