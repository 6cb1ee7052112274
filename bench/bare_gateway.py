"""The least a Python REST -> gRPC gateway does per list request, as `make bench`'s yardstick.

    LISTEN=host:port TARGET=host:port python -m bench.bare_gateway

aiohttp's low-level server (no router, middleware or signals) on uvloop, one grpc.aio channel
with default options, and per request: `page` and `limit` from the query, the caller's
Authorization passed on, one ListDnc call, the page rendered the gateway's way (rendering.py,
envelope.py). Nothing else: no routing table, request ids, trace context, metrics, access log,
deadlines from headers, limits, retries, health-checked balancing, or error envelopes (a failure
is aiohttp's bare 500). Its CPU per request, next to our gateway's and grpc-gateway's in the same
run, shows how much of the gap is the Python stack itself and how much is the gateway's features.
"""

from __future__ import annotations

import asyncio
import os

import grpc
import uvloop
from aiohttp import web

from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from gateway import envelope, rendering
from gateway.dnc_api import DNC_API

# The gateway's success message for ListDnc, so both bodies are the same bytes.
MESSAGE = DNC_API.success_message("dnc.v1.DncService.ListDnc")


async def serve(listen: str, target: str) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        list_dnc = dnc_pb2_grpc.DncServiceStub(channel).ListDnc

        async def handle(request: web.BaseRequest) -> web.Response:
            if request.path == "/healthz":  # up: the bench waits for this
                return web.Response(text="ok")
            query = request.query
            message = dnc_pb2.ListDncRequest(
                page=int(query.get("page", "1")), limit=int(query.get("limit", "10"))
            )
            metadata = (("authorization", request.headers.get("Authorization", "")),)
            reply = await list_dnc(message, metadata=metadata, timeout=10)
            body = envelope.success_body(MESSAGE, rendering.payload(reply))
            return web.Response(body=body, content_type="application/json")

        runner = web.ServerRunner(web.Server(handle), access_log=None)
        await runner.setup()
        host, port = listen.rsplit(":", 1)
        await web.TCPSite(runner, host, int(port)).start()
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


def main() -> None:
    uvloop.run(serve(os.environ["LISTEN"], os.environ["TARGET"]))


if __name__ == "__main__":
    main()
