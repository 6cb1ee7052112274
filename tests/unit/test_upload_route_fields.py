"""What an upload route (a client stream with body "*") takes from its request message: the one
repeated field a CSV or NDJSON body fills, and the scalars the query may set on every message."""

from __future__ import annotations

from descriptor_support import REPEATED, Field, FileBuilder, add_field
from google.api import visibility_pb2  # type: ignore[import-untyped]

from gateway.routes import Route, routes_from_files


def upload_routes() -> dict[str, Route]:
    """Two uploads: one with a single visible list (and a gRPC-only one), one with two lists."""
    file = FileBuilder(
        "gwtest/uploadfields/v1/upload.proto",
        "gwtest.uploadfields.v1",
        "google/api/annotations.proto",
        "google/api/visibility.proto",
    )
    file.message("Item", ("number", Field.TYPE_STRING, {}))
    item = file.type_name("Item")
    one = file.message("Upload")
    add_field(one, "items", Field.TYPE_MESSAGE, type_name=item, **REPEATED)
    add_field(one, "tag", Field.TYPE_STRING)
    add_field(one, "region_code", Field.TYPE_INT32, json_name="regionCode")
    add_field(one, "sample", Field.TYPE_MESSAGE, type_name=item)
    hidden = add_field(one, "hidden", Field.TYPE_STRING, **REPEATED)
    hidden.options.Extensions[visibility_pb2.field_visibility].restriction = "GRPC"
    two = file.message("UploadTwo")
    add_field(two, "items", Field.TYPE_MESSAGE, type_name=item, **REPEATED)
    add_field(two, "others", Field.TYPE_STRING, **REPEATED)
    add_field(two, "tag", Field.TYPE_STRING)
    file.message("Result", ("count", Field.TYPE_INT32, {}))
    for name, request in (("Import", "Upload"), ("ImportTwo", "UploadTwo")):
        rule = file.rpc("UploadService", name, request, "Result")
        rule.post, rule.body = f"/v1/{name.lower()}", "*"
    for method in file.proto.service[0].method:
        method.client_streaming = True
    return {route.method.name: route for route in routes_from_files([file.build()])}


def test_the_one_visible_list_is_what_the_body_fills() -> None:
    routes = upload_routes()
    field = routes["Import"].upload_field
    assert field is not None
    assert field.name == "items"  # the gRPC-only list does not count


def test_with_two_visible_lists_the_body_fills_neither() -> None:
    assert upload_routes()["ImportTwo"].upload_field is None


def test_the_query_sets_scalars_only() -> None:
    routes = upload_routes()
    assert set(routes["Import"].query_fields) == {"tag", "region_code", "regionCode"}
    assert set(routes["ImportTwo"].query_fields) == {"tag"}
