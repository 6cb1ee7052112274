"""A 5xx raised while routing names the service behind the gateway, like every other 5xx."""

from __future__ import annotations

import orjson
from aiohttp import web

from gateway import errors


def test_a_routing_5xx_names_the_upstream_given() -> None:
    response = errors.ErrorRenderer("billing backend").response(
        errors.GatewayError.from_http_exception(web.HTTPServiceUnavailable())
    )
    assert isinstance(response.body, bytes)
    assert orjson.loads(response.body)["errorMessage"] == (
        "The billing backend is unavailable; try again later."
    )
