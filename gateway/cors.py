"""CORS, off unless the settings name allowed origins: headers, and preflights answered."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

ALLOWED_HEADERS = "Authorization, Content-Type, Grpc-Timeout, X-Request-Id"
EXPOSED_HEADERS = "WWW-Authenticate, X-Request-Id"
MAX_AGE_SECONDS = 600


class CorsPolicy:
    """Which origins may call the gateway from a browser."""

    def __init__(self, allowed_origins: tuple[str, ...]) -> None:
        self._any = "*" in allowed_origins
        self._origins = frozenset(allowed_origins)

    def allow_origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for `origin`, or None when it is not allowed."""
        if not origin:
            return None
        if self._any:
            return "*"
        return origin if origin in self._origins else None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        allowed = self.allow_origin(request.headers.get("Origin"))
        if allowed is None:
            return await handler(request)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            preflight = _preflight(request, allowed)
            if preflight is not None:
                return preflight
        response = await handler(request)
        response.headers["Access-Control-Allow-Origin"] = allowed
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if allowed != "*":
            response.headers.add("Vary", "Origin")
        return response


def _preflight(request: web.Request, allowed: str) -> web.Response | None:
    """204 listing the path's methods; None for an unknown path, which stays a 404."""
    unmatched = request.match_info.http_exception
    if not isinstance(unmatched, web.HTTPMethodNotAllowed):
        return None
    methods = sorted(unmatched.allowed_methods | {"OPTIONS"})
    response = web.Response(status=204)
    response.headers["Access-Control-Allow-Origin"] = allowed
    response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
    response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    response.headers["Access-Control-Max-Age"] = str(MAX_AGE_SECONDS)
    if allowed != "*":
        response.headers["Vary"] = "Origin"
    return response
