"""The application's wiring, without starting it: routes, middlewares, request ids."""

from __future__ import annotations

import uuid

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.call_context import request_id_of
from gateway.cors import CorsPolicy
from gateway.dnc_api import DNC_API
from gateway.settings import GatewaySettings

DOCS_ROUTES = {
    ("GET", "/docs"),
    ("GET", "/docs/swagger-ui.css"),
    ("GET", "/docs/swagger-ui-bundle.js"),
    ("GET", "/docs/favicon-32x32.png"),
    ("GET", "/docs/initializer.js"),
}


def routes(settings: GatewaySettings) -> set[tuple[str, str]]:
    app = create_app(settings, spec=DNC_API)
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
    }


def test_routes_are_the_annotated_rpcs_plus_health_and_openapi() -> None:
    assert routes(GatewaySettings()) == {
        ("GET", "/api/dnc/list"),
        ("POST", "/api/dnc/add"),
        ("DELETE", "/api/dnc/delete/{id}"),
        ("POST", "/api/dnc/batch-add"),
        ("POST", "/api/dnc/check"),
        ("GET", "/api/dnc/export"),
        ("GET", "/api/dnc/history"),
        ("POST", "/api/dnc/scrub"),
        ("POST", "/api/dnc/import"),
        ("GET", "/healthz"),
        ("GET", "/openapi.json"),
        *DOCS_ROUTES,
    }


@pytest.mark.parametrize(
    "sent",
    ["abc", "A" * 128, "req-1:2.3_4", "0f8fad5b-d9cb-469f-a165-70867728950e", "-a/b;c", "~!"],
)
def test_printable_ascii_request_ids_are_kept(sent: str) -> None:
    assert request_id_of(sent) == sent


@pytest.mark.parametrize(
    "sent",
    [None, "", "A" * 129, "has space", "\u00e9", "a\nb", "a\rb", "a\x00", "a\x7f", "\tb"],
)
def test_other_request_ids_are_replaced_by_a_uuid4(
    sent: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    made = request_id_of(sent)
    assert made != sent
    assert uuid.UUID(made).version == 4
    refusals = [record.getMessage() for record in caplog.records]
    if sent:  # a refusal is logged, by length only, under the new id
        [refusal] = refusals
        assert refusal.startswith("refused the client's X-Request-Id")
        assert made in refusal
        assert sent not in refusal
    else:
        assert refusals == []


def test_cors_policy_origins() -> None:
    policy = CorsPolicy(("https://a.example.com", "http://localhost:3000"))
    assert policy.allow_origin("https://a.example.com") == "https://a.example.com"
    assert policy.allow_origin("http://localhost:3000") == "http://localhost:3000"
    assert policy.allow_origin("https://a.example.com.evil.test") is None
    assert policy.allow_origin("null") is None
    assert policy.allow_origin(None) is None
    assert CorsPolicy(("*",)).allow_origin("https://anyone.test") == "*"
    assert CorsPolicy(("*",)).allow_origin("") is None


@pytest.mark.parametrize(
    ("origins", "allowed"), [((), None), (("https://a.example.com",), "https://a.example.com")]
)
@pytest.mark.asyncio
async def test_cors_headers_only_when_origins_are_configured(
    origins: tuple[str, ...], allowed: str | None
) -> None:
    app = create_app(GatewaySettings(cors_allowed_origins=origins), spec=DNC_API)
    async with TestClient(TestServer(app)) as client:
        reply = await client.get("/openapi.json", headers={"Origin": "https://a.example.com"})
        assert reply.status == 200
        assert reply.headers.get("Access-Control-Allow-Origin") == allowed
