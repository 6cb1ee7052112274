"""Any annotated RPC is served without gateway changes: a made-up service, both directions.

The transcoder's modules hold nothing of the DNC API: a made-up ApiSpec's title, messages,
bounds, upstream name and logged trailers are what the gateway serves for it.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import inspect
import logging
import pkgutil
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from descriptor_support import REPEATED, Field, FieldSpec, FileBuilder, add_field
from google.api import annotations_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from multidict import MultiDict
from openapi_spec_validator import validate

import gateway
from gateway import openapi, rendering
from gateway.app import create_app
from gateway.errors import GatewayError
from gateway.routes import Route, routes_from_files
from gateway.settings import GatewaySettings
from gateway.spec import ApiSpec
from support import serving

_files: dict[str, FileDescriptor] = {}


def probe_file(name: str = "probe", configure: Any = None) -> FileDescriptor:
    """gwtest.<name>.v1: a Probe message with one field of each kind and an annotated service."""
    if name in _files:
        return _files[name]
    file = FileBuilder(
        f"gwtest/{name}/v1/probe.proto",
        f"gwtest.{name}.v1",
        "google/api/annotations.proto",
        "google/protobuf/timestamp.proto",
    )
    file.enum("Color", "COLOR_UNSPECIFIED", "RED")
    probe = file.message("Probe")
    file.map_entry(probe, "CountsEntry", Field.TYPE_INT32)
    probe.oneof_decl.add(name="choice")
    probe.oneof_decl.add(name="_maybe")
    fields: list[FieldSpec] = [
        ("name", Field.TYPE_STRING, {}),
        ("page_size", Field.TYPE_INT32, {"json_name": "pageSize"}),
        ("big", Field.TYPE_INT64, {}),
        ("count", Field.TYPE_UINT32, {}),
        ("flag", Field.TYPE_BOOL, {}),
        ("ratio", Field.TYPE_DOUBLE, {}),
        ("weight", Field.TYPE_FLOAT, {}),
        ("color", Field.TYPE_ENUM, {"type_name": file.type_name("Color")}),
        ("blob", Field.TYPE_BYTES, {}),
        ("tags", Field.TYPE_STRING, REPEATED),
        ("ids", Field.TYPE_INT32, REPEATED),
        ("first", Field.TYPE_STRING, {"oneof_index": 0}),
        ("second", Field.TYPE_STRING, {"oneof_index": 0}),
        ("maybe", Field.TYPE_INT32, {"oneof_index": 1, "proto3_optional": True}),
        ("at", Field.TYPE_MESSAGE, {"type_name": ".google.protobuf.Timestamp"}),
        (
            "counts",
            Field.TYPE_MESSAGE,
            {"type_name": file.type_name("Probe.CountsEntry"), **REPEATED},
        ),
        ("child", Field.TYPE_MESSAGE, {"type_name": file.type_name("Probe")}),
    ]
    for field_name, kind, extra in fields:
        add_field(probe, field_name, kind, **extra)
    rule = file.rpc("Probes", "GetProbe", "Probe", "Probe")
    rule.get = "/v1/probes/{name}"
    rule.additional_bindings.add(post="/v1/probes", body="*")
    file.rpc("Probes", "Hidden", "Probe", "Probe")  # no annotation: not served over HTTP
    if configure is not None:
        configure(file.proto)
    _files[name] = file.build()
    return _files[name]


@pytest.fixture(scope="module")
def routes() -> list[Route]:
    return routes_from_files([probe_file()])


def probe_class() -> type[Message]:
    return GetMessageClass(probe_file().message_types_by_name["Probe"])


def new_probe(**fields: Any) -> Any:
    """A Probe with these fields set. Its class is built at run time from a descriptor, so no
    stub knows its fields: the stubs' `Message()` takes no arguments, the real class takes all."""
    constructor: Callable[..., Message] = probe_class()
    return constructor(**fields)


def build(route: Route, *pairs: tuple[str, str], name: str = "p1", body: bytes = b"") -> Any:
    return route.build_request(MultiDict(pairs), {"name": name}, body)


def refused(route: Route, *pairs: tuple[str, str]) -> str:
    with pytest.raises(GatewayError) as caught:
        build(route, *pairs)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    return caught.value.details


def test_routes_cover_every_binding_of_annotated_methods_only(routes: list[Route]) -> None:
    assert [(r.http_method, r.path, r.body) for r in routes] == [
        ("GET", "/v1/probes/{name}", ""),
        ("POST", "/v1/probes", "*"),
    ]
    assert {r.grpc_path for r in routes} == {"/gwtest.probe.v1.Probes/GetProbe"}
    assert routes[0].path_fields == ("name",)
    assert "name" not in routes[0].query_fields


def test_query_names_are_proto_or_json_names(routes: list[Route]) -> None:
    assert build(routes[0], ("page_size", "5")).page_size == 5
    assert build(routes[0], ("pageSize", "6")).page_size == 6
    assert "page_size" in refused(routes[0], ("page_size", "5"), ("pageSize", "6"))


def test_each_scalar_kind(routes: list[Route]) -> None:
    message = build(
        routes[0],
        ("big", str(2**63 - 1)),
        ("count", str(2**32 - 1)),
        ("flag", "true"),
        ("ratio", "-2.5e3"),
        ("weight", ".5"),
        ("color", "RED"),
        ("blob", base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("=")),
        ("tags", "a"),
        ("tags", "b"),
        ("ids", "1"),
        ("ids", "2"),
        ("first", "x"),
        ("maybe", "0"),
        name="probe 7",
    )
    assert message.name == "probe 7"
    assert (message.big, message.count, message.flag) == (2**63 - 1, 2**32 - 1, True)
    assert (message.ratio, message.weight, message.color) == (-2500.0, 0.5, 1)
    assert message.blob == b"\xff\xfe"
    assert (list(message.tags), list(message.ids)) == (["a", "b"], [1, 2])
    assert message.HasField("maybe")
    assert message.WhichOneof("choice") == "first"
    assert build(routes[0], ("color", "1")).color == 1
    assert build(routes[0], ("flag", "0")).flag is False


@pytest.mark.parametrize(
    ("pair", "reason"),
    [
        (("big", str(2**63)), "out of range for int64"),
        (("count", "-1"), "out of range for uint32"),
        (("count", str(2**32)), "out of range for uint32"),
        (("flag", "yes"), "true or false"),
        (("ratio", "nan"), "expected a number"),
        (("ratio", "1e999"), "out of range for double"),
        (("weight", "1e39"), "out of range for float"),
        (("color", "BLUE"), "expected one of"),
        (("color", "7"), "expected one of"),
        (("blob", "***"), "base64"),
        (("ids", "x"), "expected an integer"),
        (("at", "2025-01-01T00:00:00Z"), "cannot be set from a query parameter"),
    ],
)
def test_values_their_field_cannot_hold_are_refused(
    routes: list[Route], pair: tuple[str, str], reason: str
) -> None:
    assert reason in refused(routes[0], pair)


def test_two_members_of_one_oneof_are_refused(routes: list[Route]) -> None:
    assert "exclude each other" in refused(routes[0], ("first", "a"), ("second", "b"))


def test_a_path_value_is_typed_like_a_query_value() -> None:
    def with_int_path(proto: descriptor_pb2.FileDescriptorProto) -> None:
        rule = proto.service[0].method[0].options.Extensions[annotations_pb2.http]
        rule.get = "/v1/probes/{page_size}"
        del rule.additional_bindings[:]

    (route,) = routes_from_files([probe_file("intpath", with_int_path)])
    message: Any = route.build_request(MultiDict(), {"page_size": "12"})
    assert message.page_size == 12
    with pytest.raises(GatewayError):
        route.build_request(MultiDict(), {"page_size": "twelve"})


def test_a_json_body_fills_the_request(routes: list[Route]) -> None:
    body = b'{"name": "b", "pageSize": 4, "tags": ["x"], "unknownField": 1}'
    message = build(routes[1], ("page_size", "9"), ("name", "q"), body=body)
    assert (message.name, message.page_size, list(message.tags)) == ("b", 4, ["x"])
    assert build(routes[1], name="", body=b"").page_size == 0
    with pytest.raises(GatewayError):
        build(routes[1], body=b"{not json")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda rule: setattr(rule.custom, "kind", "HEAD"), "not supported"),
        (lambda rule: setattr(rule, "body", "name"), "body"),
        (lambda rule: setattr(rule, "get", "/v1/{name=probes/*}"), "path template"),
        (lambda rule: setattr(rule, "get", "/v1/{tags}"), "scalar request field"),
        (lambda rule: setattr(rule, "get", "/v1/x{name}"), "path template"),
        (lambda rule: setattr(rule, "get", "/v1/{name}:run"), "path template"),
        (lambda rule: setattr(rule, "get", "v1/{name}"), "path template"),
        (lambda rule: setattr(rule, "response_body", "nope"), "response_body"),
        (lambda rule: setattr(rule, "get", "/v1/{nope}"), "scalar request field"),
    ],
)
def test_bindings_the_gateway_cannot_serve_fail_at_start(change: Any, complaint: str) -> None:
    def configure(proto: descriptor_pb2.FileDescriptorProto) -> None:
        rule = proto.service[0].method[0].options.Extensions[annotations_pb2.http]
        del rule.additional_bindings[:]
        change(rule)

    name = f"bad{abs(hash(complaint + str(change.__code__.co_firstlineno)))}"
    with pytest.raises(ValueError, match=complaint):
        routes_from_files([probe_file(name, configure)])


def test_rendering_is_generic_over_field_kinds() -> None:
    probe = new_probe(
        name="n",
        big=2**62,
        flag=True,
        ratio=float("inf"),
        weight=float("nan"),
        color=1,
        blob=b"\x00\x01",
        tags=["a"],
        ids=[3],
        second="s",
        counts={"k": 2},
        child=new_probe(name="kid"),
    )
    probe.at.seconds = 86400
    rendered = rendering.message_to_dict(probe)
    assert rendered == {
        "name": "n",
        "pageSize": 0,
        "big": str(2**62),
        "count": 0,
        "flag": True,
        "ratio": "Infinity",
        "weight": "NaN",
        "color": "RED",
        "blob": "AAE=",
        "tags": ["a"],
        "ids": [3],
        "second": "s",
        "at": "1970-01-02T00:00:00.000Z",
        "counts": {"k": 2},
        "child": {
            "name": "kid",
            "pageSize": 0,
            "big": "0",
            "count": 0,
            "flag": False,
            "ratio": 0.0,
            "weight": 0.0,
            "color": "COLOR_UNSPECIFIED",
            "tags": [],
            "ids": [],
            "counts": {},
        },
    }


def probe_spec() -> ApiSpec:
    return ApiSpec(
        files=(probe_file(),),
        title="Probe API",
        upstream_name="probe backend",
        health_key="probeBackend",
        server_header="probe-gateway",
        success_messages={"gwtest.probe.v1.Probes.GetProbe": "Probe fetched"},
        field_bounds={"gwtest.probe.v1.Probe.page_size": {"minimum": 1, "maximum": 50}},
        always_set=frozenset({"gwtest.probe.v1.Probe.child"}),
        logged_trailers={"probe-owner": "owner"},
        version="2.3.4",
    )


def test_openapi_for_any_service_is_valid(routes: list[Route]) -> None:
    document = openapi.document(routes, probe_spec())
    validate(document)
    get = document["paths"]["/v1/probes/{name}"]["get"]
    parameters = {p["name"]: p for p in get["parameters"]}
    assert parameters["name"]["in"] == "path"
    assert parameters["name"]["required"] is True
    assert parameters["pageSize"]["schema"]["format"] == "int32"
    assert parameters["tags"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert "at" not in parameters  # message fields cannot come from the query
    post = document["paths"]["/v1/probes"]["post"]
    assert (get["operationId"], post["operationId"]) == ("GetProbe", "GetProbe2")
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/gwtest.probe.v1.Probe.Input"
    }
    body_schema = document["components"]["schemas"]["gwtest.probe.v1.Probe.Input"]
    assert "additionalProperties" not in body_schema  # unknown keys are ignored
    assert "required" not in body_schema
    assert body_schema["properties"]["child"] == {
        "anyOf": [{"$ref": "#/components/schemas/gwtest.probe.v1.Probe.Input"}, {"type": "null"}]
    }
    assert {"413", "415"} <= set(post["responses"]) - set(get["responses"])
    probe_schema = document["components"]["schemas"]["gwtest.probe.v1.Probe"]
    assert probe_schema["properties"]["child"] == {
        "$ref": "#/components/schemas/gwtest.probe.v1.Probe"
    }
    assert "maybe" not in probe_schema["required"]
    assert "pageSize" in probe_schema["required"]


def test_openapi_takes_the_specs_words_and_bounds(routes: list[Route]) -> None:
    document = openapi.document(routes, probe_spec())
    assert document["info"]["title"] == "Probe API"
    assert document["info"]["version"] == "2.3.4"
    assert "gwtest.probe.v1.Probes" in document["info"]["description"]
    get = document["paths"]["/v1/probes/{name}"]["get"]
    success = get["responses"]["200"]
    assert success["description"] == "Probe fetched"
    envelope_schema = success["content"]["application/json"]["schema"]
    assert envelope_schema["properties"]["message"] == {"const": "Probe fetched"}
    parameters = {p["name"]: p for p in get["parameters"]}
    assert parameters["pageSize"]["schema"]["maximum"] == 50
    probe_schema = document["components"]["schemas"]["gwtest.probe.v1.Probe"]
    assert "child" in probe_schema["required"]  # always_set, though it has presence
    health_get = document["paths"]["/healthz"]["get"]
    health_schema = health_get["responses"]["200"]["content"]["application/json"]["schema"]
    assert health_schema["required"] == ["status", "probeBackend"]
    assert "probe backend" in health_get["summary"]
    text = str(document)
    assert "DNC" not in text
    assert "dnc" not in text.lower()


# The transcoder and the envelope: generic. dnc_api (the data), settings, metrics and __main__
# (the process) may name DNC; these may not, except to import the shared `dnc_common` package.
PROCESS_MODULES = frozenset({"__main__", "dnc_api", "metrics", "settings"})
GENERIC_MODULES = sorted(
    module.name
    for module in pkgutil.iter_modules(gateway.__path__)
    if module.name not in PROCESS_MODULES
)


def test_the_generic_modules_are_all_there_is_besides_the_process() -> None:
    assert {"app", "errors", "handlers", "routes", "transcoding"} <= set(GENERIC_MODULES)


@pytest.mark.parametrize("name", GENERIC_MODULES)
def test_generic_modules_hold_no_dnc_text(name: str) -> None:
    source = inspect.getsource(importlib.import_module(f"gateway.{name}"))
    assert re.findall(r"(?i)[^\n]*dnc(?!_common)[^\n]*", source) == []


Probe = Any


@pytest_asyncio.fixture
async def probe_target() -> AsyncIterator[str]:
    """A Probes server: echoes the probe and sends a `probe-owner` trailer; `down` aborts."""
    probe = probe_class()

    async def get_probe(request: Probe, context: grpc.aio.ServicerContext[Any, Any]) -> Probe:
        if request.name == "down":
            await context.abort(grpc.StatusCode.UNAVAILABLE, "backend-7.internal refused")
        context.set_trailing_metadata((("probe-owner", "team-7"),))
        return new_probe(name=request.name, page_size=request.page_size)

    handler = grpc.unary_unary_rpc_method_handler(
        get_probe,
        request_deserializer=probe.FromString,
        response_serializer=probe.SerializeToString,
    )
    async with serving("gwtest.probe.v1.Probes", {"GetProbe": handler}) as target:
        yield target


@pytest_asyncio.fixture
async def probe_client(probe_target: str) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_app(
        GatewaySettings(grpc_target=probe_target, timeout_seconds=5), spec=probe_spec()
    )
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.mark.asyncio
async def test_the_app_serves_another_api_in_its_own_words(
    probe_client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        reply = await probe_client.get("/v1/probes/p1", params={"pageSize": "3"})
        assert reply.status == 200
        assert reply.headers["Server"] == "probe-gateway"
        assert await reply.json() == {
            "message": "Probe fetched",
            "status": True,
            "code": 200,
            "errorMessage": "",
            "data": {
                "name": "p1",
                "pageSize": 3,
                "big": "0",
                "count": 0,
                "flag": False,
                "ratio": 0.0,
                "weight": 0.0,
                "color": "COLOR_UNSPECIFIED",
                "tags": [],
                "ids": [],
                "counts": {},
            },
        }
    [access] = [record for record in caplog.records if record.name == "gateway.access"]
    logged = vars(access)
    assert logged["owner"] == "team-7"  # the spec's trailer, under its log field
    assert "org_id" not in logged


@pytest.mark.asyncio
async def test_another_apis_errors_and_health_name_its_upstream(
    probe_client: TestClient[Any, Any],
) -> None:
    down = await probe_client.get("/v1/probes/down")
    assert down.status == 503
    body = await down.json()
    assert body["errorMessage"] == "The probe backend is unavailable; try again later."
    assert "internal" not in str(body)
    healthz = await probe_client.get("/healthz")
    assert (healthz.status, await healthz.json()) == (
        200,
        {"status": "SERVING", "probeBackend": "SERVING"},
    )
    document = await (await probe_client.get("/openapi.json")).json()
    assert document["info"]["title"] == "Probe API"


@pytest.mark.parametrize(
    "change",
    [
        {"success_messages": {"gwtest.probe.v1.Probes.GetProbes": "typo"}},
        {"field_bounds": {"gwtest.probe.v1.Probe.page": {"minimum": 1}}},
        {"always_set": frozenset({"gwtest.probe.v1.Probe.kid"})},
        {"retryable_methods": frozenset({"gwtest.probe.v1.Probes.GetProbes"})},
    ],
)
def test_a_spec_naming_what_its_files_lack_fails_at_start(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"no (RPC|field) 'gwtest\.probe\.v1\.Probe"):
        dataclasses.replace(probe_spec(), **change)
