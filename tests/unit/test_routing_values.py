"""Query, path and body values at their edges, with the exact message a client reads.

Routes are built inside each test rather than in a shared fixture, so that mutation testing
(docs/mutation.md) links every test to the routing code it runs.
"""

from __future__ import annotations

import base64
from functools import cache
from typing import Any

import grpc
import pytest
from descriptor_support import Field, FileBuilder
from google.api import annotations_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor
from multidict import MultiDict

from dnc.v1 import dnc_pb2
from gateway.call_context import parse_grpc_timeout
from gateway.errors import GatewayError
from gateway.routes import Route, routes_from_files

PACKAGE = "gwtest.values.v1"
FLOAT32_MAX = "3.4028234663852886e38"


@cache
def values_file(variant: str = "values", configure: Any = None) -> FileDescriptor:
    """A Values message with one field per kind; an unannotated RPC before the annotated one.

    A `variant` is the same file under its own package, changed by `configure`.
    """
    file = FileBuilder(
        f"gwtest/{variant}/v1/values.proto", f"gwtest.{variant}.v1", "google/api/annotations.proto"
    )
    file.enum("Size", "SIZE_UNSPECIFIED", "SMALL")
    values = file.message(
        "Values",
        ("name", Field.TYPE_STRING, {}),
        ("page_size", Field.TYPE_INT32, {"json_name": "pageSize"}),
        ("big", Field.TYPE_UINT64, {}),
        ("flag", Field.TYPE_BOOL, {}),
        ("ratio", Field.TYPE_DOUBLE, {}),
        ("weight", Field.TYPE_FLOAT, {}),
        ("size", Field.TYPE_ENUM, {"type_name": file.type_name("Size")}),
        ("blob", Field.TYPE_BYTES, {}),
        ("first", Field.TYPE_STRING, {"oneof_index": 0}),
        ("second", Field.TYPE_STRING, {"oneof_index": 0}),
    )
    values.oneof_decl.add(name="choice")
    file.rpc("ValuesService", "Unrouted", "Values", "Values")
    rule = file.rpc("ValuesService", "GetValues", "Values", "Values")
    rule.get = "/v1/values/{name}"
    rule.additional_bindings.add(post="/v1/values", body="*")
    if configure is not None:
        configure(file.proto)
    return file.build()


def routes() -> tuple[Route, Route]:
    get, post = routes_from_files([values_file()])
    return get, post


def build(*pairs: tuple[str, str], name: str = "v") -> Any:
    return routes()[0].build_request(MultiDict(pairs), {"name": name})


def refused(*pairs: tuple[str, str]) -> str:
    with pytest.raises(GatewayError) as caught:
        build(*pairs)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    return caught.value.details


def test_methods_after_an_unannotated_one_are_still_routed() -> None:
    get, post = routes()
    assert (get.grpc_path, post.grpc_path) == (f"/{PACKAGE}.ValuesService/GetValues",) * 2
    assert get.query_fields["pageSize"] is get.query_fields["page_size"]
    assert build(("page_size", "3")).page_size == 3
    assert build(("pageSize", "4")).page_size == 4


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("page_size", "x", "expected an integer (int32)"),
        ("page_size", "2147483648", "out of range for int32"),
        ("big", "-1", "out of range for uint64"),
        ("flag", "yes", "expected true or false"),
        ("ratio", "nan", "expected a number"),
        ("ratio", "1e999", "out of range for double"),
        ("weight", "1e39", "out of range for float"),
        ("size", "LARGE", "expected one of SIZE_UNSPECIFIED, SMALL"),
        ("blob", "***", "expected base64"),
    ],
)
def test_each_refusal_names_the_value_the_field_and_the_reason(
    field: str, value: str, reason: str
) -> None:
    assert refused((field, value)) == f"invalid value {value!r} for {field!r}: {reason}"


def test_a_long_value_is_cut_to_32_characters_in_the_message() -> None:
    exactly = "1" * 32
    assert refused(("page_size", exactly)) == (
        f"invalid value {exactly!r} for 'page_size': out of range for int32"
    )
    longer = "2" * 33
    assert refused(("page_size", longer)) == (
        f"invalid value {'2' * 32 + '...'!r} for 'page_size': out of range for int32"
    )


def test_integers_up_to_24_characters_are_read_longer_ones_are_out_of_range() -> None:
    assert build(("big", "+" + "7".rjust(23, "0"))).big == 7
    assert "out of range for uint64" in refused(("big", "+" + "7".rjust(24, "0")))


def test_enum_numbers_up_to_12_characters_are_read() -> None:
    assert build(("size", "SMALL")).size == 1
    assert build(("size", "+" + "1".rjust(11, "0"))).size == 1
    assert "expected one of" in refused(("size", "+" + "1".rjust(12, "0")))


def test_float_max_itself_is_accepted() -> None:
    assert build(("weight", FLOAT32_MAX)).weight == float(FLOAT32_MAX)
    assert build(("weight", "-" + FLOAT32_MAX)).weight == -float(FLOAT32_MAX)


@pytest.mark.parametrize("text", ["+/8=", "+/8", " /8", "-_8", "-_8="])
def test_bytes_accept_either_base64_alphabet_and_a_decoded_plus(text: str) -> None:
    assert build(("blob", text)).blob == b"\xfb\xff"
    assert base64.b64encode(b"\xfb\xff") == b"+/8="


def test_oneof_refusal_names_both_parameters() -> None:
    assert refused(("first", "a"), ("second", "b")) == (
        "query parameters 'first' and 'second' exclude each other"
    )


def test_path_values_are_typed_and_refusals_name_the_field() -> None:
    def int_path(proto: descriptor_pb2.FileDescriptorProto) -> None:
        proto.service[0].method[1].options.Extensions[annotations_pb2.http].get = "/v/{page_size}"

    (route, _) = routes_from_files([values_file("values_intpath", int_path)])
    assert route.build_request(MultiDict(), {"page_size": "12"}).page_size == 12  # type: ignore[attr-defined]
    with pytest.raises(GatewayError) as caught:
        route.build_request(MultiDict(), {"page_size": "twelve"})
    assert caught.value.details == (
        "invalid value 'twelve' for 'page_size': expected an integer (int32)"
    )


def test_a_missing_path_value_is_empty_text() -> None:
    get, _ = routes()
    assert get.build_request(MultiDict()).name == ""  # type: ignore[attr-defined]
    assert get.build_request(MultiDict(), {}).name == ""  # type: ignore[attr-defined]


def test_a_body_route_without_a_body_gives_an_empty_request() -> None:
    _, post = routes()
    assert post.build_request(MultiDict()).ByteSize() == 0
    assert post.build_request(MultiDict(), body=b'{"pageSize": 2}').page_size == 2  # type: ignore[attr-defined]


def test_an_unparsable_body_is_invalid_argument() -> None:
    _, post = routes()
    with pytest.raises(GatewayError) as caught:
        post.build_request(MultiDict(), body=b"{not json")
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details.startswith("the request body is not valid JSON: ")


def test_a_client_stream_without_a_body_binding_is_refused_at_start() -> None:
    def streaming(proto: descriptor_pb2.FileDescriptorProto) -> None:
        proto.service[0].method[1].client_streaming = True

    with pytest.raises(ValueError, match='a client stream needs body "\\*"'):
        routes_from_files([values_file("values_clientstream", streaming)])


def upload_route(variant: str, path: str) -> Route:
    """The annotated RPC as a client stream posting its body (`*`) to `path`."""

    def streaming(proto: descriptor_pb2.FileDescriptorProto) -> None:
        method = proto.service[0].method[1]
        method.client_streaming = True
        rule = method.options.Extensions[annotations_pb2.http]
        rule.post, rule.body = path, "*"
        del rule.additional_bindings[:]

    (route,) = routes_from_files([values_file(variant, streaming)])
    return route


def test_client_and_bidi_streams_with_a_body_become_upload_routes() -> None:
    route = upload_route("values_upload", "/v1/values-upload")
    assert (route.uploading, route.streaming, route.path) == (True, False, "/v1/values-upload")
    # No repeated field: NDJSON only; the query sets scalars on every message.
    assert route.upload_field is None
    template = route.stream_template(MultiDict([("pageSize", "7"), ("flag", "true")]))
    assert (template.page_size, template.flag) == (7, True)  # type: ignore[attr-defined]


def test_an_upload_routes_path_variables_are_set_on_every_message() -> None:
    route = upload_route("values_path_upload", "/v1/values/{name}/upload")
    template = route.stream_template(MultiDict([("flag", "true")]), {"name": "list-7"})
    assert (template.name, template.flag) == ("list-7", True)  # type: ignore[attr-defined]
    assert route.stream_template(MultiDict()).name == ""  # type: ignore[attr-defined]


def test_server_streaming_rpcs_become_streaming_routes() -> None:
    def streaming(proto: descriptor_pb2.FileDescriptorProto) -> None:
        proto.service[0].method[1].server_streaming = True

    routes = routes_from_files([values_file("values_serverstream", streaming)])
    assert [route.streaming for route in routes] == [True, True]


def test_a_bad_first_path_segment_is_refused_at_start() -> None:
    def verb(proto: descriptor_pb2.FileDescriptorProto) -> None:
        rule = proto.service[0].method[1].options.Extensions[annotations_pb2.http]
        rule.get = "/v1:run"
        del rule.additional_bindings[:]

    with pytest.raises(ValueError, match="path template '/v1:run' is not supported"):
        routes_from_files([values_file("values_verb", verb)])


def test_the_dnc_route_reads_its_query() -> None:
    routes = routes_from_files([dnc_pb2.DESCRIPTOR])
    route = next(route for route in routes if route.path == "/api/dnc/list")
    message = route.build_request(MultiDict([("page", "2"), ("limit", "5"), ("search", "212")]))
    assert message == dnc_pb2.ListDncRequest(page=2, limit=5, search="212")


def test_malformed_grpc_timeout_message() -> None:
    header = "x" * 40
    with pytest.raises(GatewayError) as caught:
        parse_grpc_timeout(header)
    assert caught.value.details == (
        f"invalid Grpc-Timeout header {'x' * 32!r}: expected up to 8 digits and a unit "
        "(H, M, S, m, u, n), e.g. 5S or 100m"
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [(t, True) for t in ("true", "True", "TRUE", "t", "T", "1")]
    + [(f, False) for f in ("false", "False", "FALSE", "f", "F", "0")],
)
def test_booleans_are_gos_parse_bool_spellings(text: str, value: bool) -> None:
    assert build(("flag", text)).flag is value


@pytest.mark.parametrize("text", ["tRue", "yes", "on", "2", "", " true"])
def test_other_boolean_spellings_are_refused(text: str) -> None:
    assert refused(("flag", text)).endswith("expected true or false")


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b'{"pageSize": 2147483648}', "pageSize field: Value out of range: 2147483648"),
        (b'{"big": "x"}', "big field: invalid literal for int() with base 10: 'x'"),
        (b'{"ratio": "abc"}', "ratio field: Couldn't parse float: abc at Values.ratio"),
    ],
)
def test_json_formats_refusals_keep_its_words_without_its_prefix(body: bytes, text: str) -> None:
    _, post = routes()
    with pytest.raises(GatewayError) as raised:
        post.build_request(MultiDict(), body=body)
    assert raised.value.details == f"invalid request body: {text}"


def test_a_long_refusal_is_cut_to_300_characters() -> None:
    _, post = routes()
    with pytest.raises(GatewayError) as raised:
        post.build_request(MultiDict(), body=b'{"pageSize": "' + b"9" * 400 + b'"}')
    text = raised.value.details.removeprefix("invalid request body: ")
    assert text == ("pageSize field: Value out of range: " + "9" * 400)[:300] + "..."
