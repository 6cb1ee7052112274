"""`GET /healthz`: 200 only while the service behind the gateway answers SERVING."""

from __future__ import annotations

import grpc
import orjson
from aiohttp import web
from grpc_health.v1 import health_pb2

from .errors import GatewayError

HEALTH_TIMEOUT_SECONDS = 1.5
HEALTH_CHECK = "/grpc.health.v1.Health/Check"


class HealthCheck:
    """grpc.health.v1 Check of the whole server (""), answered under `health_key`."""

    def __init__(self, health_key: str) -> None:
        self._health_key = health_key
        self._check: (
            grpc.aio.UnaryUnaryMultiCallable[
                health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
            ]
            | None
        ) = None

    def bind(self, channel: grpc.aio.Channel) -> None:
        self._check = channel.unary_unary(
            HEALTH_CHECK,
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )

    async def handle(self, request: web.Request) -> web.Response:
        try:
            if self._check is None:
                raise GatewayError(grpc.StatusCode.UNAVAILABLE, "the channel is not open")
            reply = await self._check(
                health_pb2.HealthCheckRequest(service=""), timeout=HEALTH_TIMEOUT_SECONDS
            )
            upstream = str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
        except grpc.aio.AioRpcError as error:
            upstream = error.code().name
        serving = upstream == "SERVING"
        return web.Response(
            status=200 if serving else 503,
            body=orjson.dumps(
                {"status": "SERVING" if serving else "NOT_SERVING", self._health_key: upstream}
            ),
            content_type="application/json",
        )
