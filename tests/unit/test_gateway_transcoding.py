"""Bodies, path parameters, DELETE, response_body, empty responses and server streaming, for any
annotated service: a made-up Items API against a real in-process gRPC server."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import grpc
import orjson
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from descriptor_support import REPEATED, Field, FileBuilder
from google.protobuf.descriptor import FileDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from openapi_spec_validator import validate
from prometheus_client import REGISTRY

from gateway import openapi, transcoding
from gateway.app import create_app
from gateway.errors import GatewayError
from gateway.routes import routes_from_files
from gateway.settings import GatewaySettings
from gateway.spec import ApiSpec
from support import serving

PACKAGE = "gwtest.items.v1"
ENVELOPE_KEYS = ["message", "status", "code", "errorMessage", "data"]


def items_file() -> FileDescriptor:
    """gwtest.items.v1.Items: Create (body *, response_body), Delete ({id}), List (a stream)."""
    file = FileBuilder("gwtest/items/v1/items.proto", PACKAGE, "google/api/annotations.proto")
    file.message(
        "Item",
        ("id", Field.TYPE_STRING, {}),
        ("display_name", Field.TYPE_STRING, {"json_name": "displayName"}),
        ("size", Field.TYPE_INT32, {}),
        ("tags", Field.TYPE_STRING, REPEATED),
        ("child", Field.TYPE_MESSAGE, {"type_name": file.type_name("Item")}),
    )
    file.message(
        "CreateItemResponse", ("item", Field.TYPE_MESSAGE, {"type_name": file.type_name("Item")})
    )
    file.message("DeleteItemRequest", ("id", Field.TYPE_STRING, {}))
    file.message("DeleteItemResponse")
    file.message(
        "ListItemsRequest",
        ("count", Field.TYPE_INT32, {}),
        ("fail_at", Field.TYPE_INT32, {"json_name": "failAt"}),
        ("hang", Field.TYPE_BOOL, {}),
        ("token", Field.TYPE_STRING, {}),
    )
    create = file.rpc("Items", "CreateItem", "Item", "CreateItemResponse")
    create.post, create.body, create.response_body = "/v1/items", "*", "item"
    file.rpc(
        "Items", "DeleteItem", "DeleteItemRequest", "DeleteItemResponse"
    ).delete = "/v1/items/{id}"
    file.rpc("Items", "ListItems", "ListItemsRequest", "Item", streaming=True).get = "/v1/items"
    return file.build()


def message_class(name: str) -> Any:
    return GetMessageClass(items_file().message_types_by_name[name])


def items_spec() -> ApiSpec:
    return ApiSpec(
        files=(items_file(),),
        title="Items API",
        upstream_name="items backend",
        success_messages={
            f"{PACKAGE}.Items.CreateItem": "Item created",
            f"{PACKAGE}.Items.DeleteItem": "Item deleted",
        },
        field_bounds={f"{PACKAGE}.Item.tags": {"maxItems": 3, "maxLength": 8}},
    )


class ItemsServicer:
    """CreateItem echoes (name `dup`: ALREADY_EXISTS); DeleteItem (`missing`: NOT_FOUND);
    ListItems streams `count` items, failing UNAVAILABLE at `failAt`, or waiting forever after
    them when `hang`; token `bad` is UNAUTHENTICATED before any item."""

    def __init__(self) -> None:
        self.item = message_class("Item")
        self.hanging = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def create(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        if request.display_name == "dup":
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, "already there")
        request.id = "i-1"
        return message_class("CreateItemResponse")(item=request)

    async def delete(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        if request.id == "missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, "no item 'missing'")
        return message_class("DeleteItemResponse")()

    async def stream(
        self, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Message]:
        if request.token == "bad":
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad token")
        for n in range(request.count):
            if request.fail_at and n == request.fail_at:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "db-3.internal went away")
            yield self.item(id=f"{n:06d}", display_name=f"=item {n}", size=n, tags=["a", "b"])
        if request.hang:
            self.hanging.set()
            try:
                await asyncio.Event().wait()
            finally:
                self.cancelled.set()  # the gateway cancelled the call, or its deadline passed


@pytest_asyncio.fixture
async def servicer() -> AsyncIterator[ItemsServicer]:
    yield ItemsServicer()


@pytest_asyncio.fixture
async def target(servicer: ItemsServicer) -> AsyncIterator[str]:
    def unary(function: Any, request: str, response: str) -> grpc.RpcMethodHandler[Any, Any]:
        return grpc.unary_unary_rpc_method_handler(
            function,
            request_deserializer=message_class(request).FromString,
            response_serializer=message_class(response).SerializeToString,
        )

    handlers = {
        "CreateItem": unary(servicer.create, "Item", "CreateItemResponse"),
        "DeleteItem": unary(servicer.delete, "DeleteItemRequest", "DeleteItemResponse"),
        "ListItems": grpc.unary_stream_rpc_method_handler(
            servicer.stream,
            request_deserializer=message_class("ListItemsRequest").FromString,
            response_serializer=message_class("Item").SerializeToString,
        ),
    }
    async with serving(f"{PACKAGE}.Items", handlers) as target:
        yield target


Client = TestClient[Any, Any]


@pytest_asyncio.fixture
async def client(target: str) -> AsyncIterator[Client]:
    settings = GatewaySettings(
        grpc_target=target,
        timeout_seconds=5,
        max_body_bytes=4096,
        cors_allowed_origins=("https://app.example.com",),
    )
    async with TestClient(TestServer(create_app(settings, spec=items_spec()))) as test_client:
        yield test_client


def broken_streams(code: str) -> float:
    """The exported count of /v1/items streams broken with `code`."""
    labels = {"route": "/v1/items", "code": code}
    return REGISTRY.get_sample_value("dnc_gateway_streams_broken_total", labels) or 0.0


async def envelope_of(reply: aiohttp.ClientResponse, status: int) -> dict[str, Any]:
    assert reply.status == status, await reply.text()
    assert reply.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = await reply.json()
    assert list(body) == ENVELOPE_KEYS
    assert (body["status"], body["code"]) == (status == 200, status)
    return body


# --- bodies and response_body ---


@pytest.mark.asyncio
async def test_a_json_body_becomes_the_request_and_data_is_the_response_body_field(
    client: Client,
) -> None:
    reply = await client.post(
        "/v1/items",
        data=b'{"displayName": "x", "size": 3, "tags": ["t"], "unknown": {"a": [1]}, "id": null}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert await envelope_of(reply, 200) == {
        "message": "Item created",
        "status": True,
        "code": 200,
        "errorMessage": "",
        "data": {"id": "i-1", "displayName": "x", "size": 3, "tags": ["t"]},
    }


@pytest.mark.asyncio
async def test_proto_names_and_a_missing_content_type_are_accepted(client: Client) -> None:
    reply = await client.post("/v1/items", data=b'{"display_name": "p", "child": {"size": 2}}')
    data = (await envelope_of(reply, 200))["data"]
    assert (data["displayName"], data["child"]["size"]) == ("p", 2)
    empty = await client.post("/v1/items", data=b"")
    assert (await envelope_of(empty, 200))["data"]["id"] == "i-1"


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b'{"size": 1', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b'{"size": NaN}', "not valid JSON"),
        (b"[1, 2]", "must be a JSON object, not an array"),
        (b'"x"', "must be a JSON object, not a string"),
        (b"null", "must be a JSON object, not null"),
        (b"7", "must be a JSON object, not a number"),
        (b'{"tags": "x"}', "'tags' must be an array, not a string"),
        (b'{"tags": 5}', "'tags' must be an array, not a number"),
        (b'{"tags": ["a", null]}', "'tags[1]' must not be null"),
        (b'{"tags": [1]}', "'tags[0]' must be a string, not a number"),
        (b'{"displayName": true}', "'displayName' must be a string, not a boolean"),
        (b'{"size": "big"}', "size"),
        (b'{"size": 2147483648}', "size"),
        (b'{"size": 1.5}', "size"),
        (b'{"child": []}', "'child' must be an object, not an array"),
        (b'{"child": {"tags": {}}}', "'child.tags' must be an array, not an object"),
        (b'{"child": ' * 80 + b"{}" + b"}" * 80, "nested too deeply"),
    ],
)
@pytest.mark.asyncio
async def test_bodies_that_cannot_be_the_request_are_400(
    client: Client, body: bytes, complaint: str
) -> None:
    reply = await client.post("/v1/items", data=body, headers={"Content-Type": "application/json"})
    error = await envelope_of(reply, 400)
    assert complaint in error["errorMessage"]
    assert "bytes-like" not in error["errorMessage"]
    assert error["data"] is None


@pytest.mark.asyncio
async def test_an_oversized_body_is_413_and_another_media_type_415(client: Client) -> None:
    big = b'{"displayName": "' + b"x" * 5000 + b'"}'
    too_large = await envelope_of(await client.post("/v1/items", data=big), 413)
    assert too_large["errorMessage"] == "The request body is larger than 4096 bytes."
    form = await client.post(
        "/v1/items", data=b"a=b", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert "application/json" in (await envelope_of(form, 415))["errorMessage"]


@pytest.mark.asyncio
async def test_an_upstream_refusal_keeps_its_status(client: Client) -> None:
    reply = await client.post("/v1/items", json={"displayName": "dup"})
    assert (await envelope_of(reply, 409))["errorMessage"] == "already there"


# --- path parameters, DELETE, empty responses, methods ---


@pytest.mark.asyncio
async def test_delete_takes_the_path_id_and_an_empty_response_is_data_null(
    client: Client,
) -> None:
    reply = await client.delete("/v1/items/abc")
    assert await envelope_of(reply, 200) == {
        "message": "Item deleted",
        "status": True,
        "code": 200,
        "errorMessage": "",
        "data": None,
    }
    missing = await client.delete("/v1/items/missing")
    assert (await envelope_of(missing, 404))["errorMessage"] == "no item 'missing'"


@pytest.mark.asyncio
async def test_wrong_methods_are_405_with_allow_and_preflights_list_them(client: Client) -> None:
    wrong = await client.put("/v1/items", data=b"{}")
    await envelope_of(wrong, 405)
    assert wrong.headers["Allow"] == "GET,POST"
    on_item = await client.get("/v1/items/abc")
    await envelope_of(on_item, 405)
    assert on_item.headers["Allow"] == "DELETE"
    preflight = await client.options(
        "/v1/items/abc",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "DELETE",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Methods"] == "DELETE, OPTIONS"


# --- server streaming ---


async def stream(client: Client, accept: str | None = None, **query: Any) -> aiohttp.ClientResponse:
    headers = {"Accept": accept} if accept else {}
    params = {key: str(value).lower() for key, value in query.items()}
    return await client.get("/v1/items", params=params, headers=headers)


@pytest.mark.asyncio
async def test_a_stream_is_ndjson_one_message_per_line_in_order(client: Client) -> None:
    reply = await stream(client, count=3000)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/x-ndjson"
    assert reply.headers.get("Transfer-Encoding") == "chunked"
    lines = (await reply.read()).splitlines()
    assert len(lines) == 3000
    assert orjson.loads(lines[0]) == {
        "id": "000000",
        "displayName": "=item 0",
        "size": 0,
        "tags": ["a", "b"],
    }
    assert [orjson.loads(line)["size"] for line in lines] == list(range(3000))


@pytest.mark.asyncio
async def test_with_accept_text_csv_a_stream_is_csv_with_a_header_row(client: Client) -> None:
    reply = await stream(client, accept="text/csv", count=3)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(await reply.text())))
    assert rows == [
        ["id", "displayName", "size", "tags", "child"],
        ["000000", "'=item 0", "0", '["a","b"]', ""],
        ["000001", "'=item 1", "1", '["a","b"]', ""],
        ["000002", "'=item 2", "2", '["a","b"]', ""],
    ]


@pytest.mark.asyncio
async def test_an_empty_stream_is_200_with_no_lines_or_just_the_header(client: Client) -> None:
    reply = await stream(client, count=0)
    assert (reply.status, await reply.read()) == (200, b"")
    as_csv = await stream(client, accept="text/csv", count=0)
    assert (as_csv.status, await as_csv.text()) == (200, "id,displayName,size,tags,child\r\n")


@pytest.mark.parametrize("accept", [None, "text/csv"])
@pytest.mark.asyncio
async def test_a_stream_refused_before_its_first_message_is_an_error_envelope(
    client: Client, accept: str | None
) -> None:
    reply = await stream(client, accept=accept, token="bad", count=5)
    assert (await envelope_of(reply, 401))["errorMessage"] == "bad token"
    assert reply.headers["WWW-Authenticate"] == "Bearer"
    bad_query = await stream(client, accept=accept, count="many")
    assert "count" in (await envelope_of(bad_query, 400))["errorMessage"]


@pytest.mark.asyncio
async def test_ndjson_broken_mid_stream_ends_with_an_error_envelope_line(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    broken_before = broken_streams("UNAVAILABLE")
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        reply = await stream(client, count=5000, fail_at=2500)
        assert reply.status == 200
        lines = (await reply.read()).splitlines()
    assert len(lines) == 2501
    assert [orjson.loads(line)["size"] for line in lines[:-1]] == list(range(2500))
    assert orjson.loads(lines[-1]) == {
        "message": "Service unavailable",
        "status": False,
        "code": 503,
        "errorMessage": "The items backend is unavailable; try again later.",
        "data": None,
    }
    [access] = [record for record in caplog.records if record.name == "gateway.access"]
    assert (vars(access)["streamed"], vars(access)["stream_error"]) == (2500, "UNAVAILABLE")
    assert broken_streams("UNAVAILABLE") == broken_before + 1


@pytest.mark.asyncio
async def test_csv_broken_mid_stream_is_cut_off_so_it_cannot_pass_for_complete(
    client: Client,
) -> None:
    reply = await stream(client, accept="text/csv", count=5000, fail_at=2500)
    assert reply.status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await reply.read()


@pytest.mark.asyncio
async def test_the_deadline_ends_a_stream_that_stalls(
    client: Client, servicer: ItemsServicer
) -> None:
    reply = await client.get(
        "/v1/items", params={"count": "3", "hang": "true"}, headers={"Grpc-Timeout": "300m"}
    )
    lines = (await reply.read()).splitlines()
    assert reply.status == 200
    assert len(lines) == 4
    assert orjson.loads(lines[-1])["code"] == 504
    await asyncio.wait_for(servicer.cancelled.wait(), 5)  # the service's side ended too


@pytest.mark.asyncio
async def test_a_client_leaving_mid_stream_cancels_the_call(
    client: Client, servicer: ItemsServicer
) -> None:
    reply = await stream(client, count=10, hang=True)
    assert reply.status == 200
    await asyncio.wait_for(servicer.hanging.wait(), 5)  # every item sent, the stream still open
    reply.close()  # gone before the stream ends
    await asyncio.wait_for(servicer.cancelled.wait(), 5)


# --- the document ---


def test_openapi_describes_bodies_path_ids_empty_data_and_streams() -> None:
    document = openapi.document(routes_from_files([items_file()]), items_spec())
    validate(document)
    schemas = document["components"]["schemas"]
    create = document["paths"]["/v1/items"]["post"]
    assert create["requestBody"]["required"] is True
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/{PACKAGE}.Item.Input"
    }
    tags = schemas[f"{PACKAGE}.Item.Input"]["properties"]["tags"]["anyOf"][0]
    assert tags == {"type": "array", "items": {"type": "string", "maxLength": 8}, "maxItems": 3}
    data = create["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    assert data["data"] == {
        "oneOf": [{"$ref": f"#/components/schemas/{PACKAGE}.Item"}, {"type": "null"}]
    }
    assert {"413", "415"} <= set(create["responses"])
    delete = document["paths"]["/v1/items/{id}"]["delete"]
    assert delete["parameters"][0] == {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    delete_data = delete["responses"]["200"]["content"]["application/json"]["schema"]
    assert delete_data["properties"]["data"] == {"type": "null"}
    assert "413" not in delete["responses"]
    listed = document["paths"]["/v1/items"]["get"]["responses"]["200"]["content"]
    assert listed == {
        "application/x-ndjson": {"schema": {"$ref": f"#/components/schemas/{PACKAGE}.Item"}},
        "text/csv": {"schema": {"type": "string"}},
    }


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (b'{"a": 1, "a": 1}', "a"),
        (b'{"a": [{"b": {"c": 1, "c": 2}}]}', "c"),
        (b'{"' + b"k" * 100 + b'": 1, "' + b"k" * 100 + b'": 2}', "k" * 64 + "..."),
    ],
)
def test_a_key_twice_in_one_object_is_refused_at_any_depth(body: bytes, key: str) -> None:
    with pytest.raises(GatewayError) as raised:
        transcoding.refuse_repeated_keys(body)
    assert raised.value.details == f"the request body repeats the key {key!r}"


def test_the_same_key_in_sibling_objects_is_no_repeat() -> None:
    transcoding.refuse_repeated_keys(b'{"a": [{"b": 1}, {"b": 2}], "c": {"b": 3}}')
