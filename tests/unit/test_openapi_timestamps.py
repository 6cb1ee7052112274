"""The OpenAPI Timestamp schemas: responses state what the gateway writes, requests what
json_format reads (any RFC 3339 time), so a valid request body is never refused by the document."""

from __future__ import annotations

import re

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from gateway import openapi, proto_docs
from gateway.dnc_api import DNC_API
from gateway.routes import routes_from_files

READ = [
    "2025-05-15T10:30:00Z",
    "2025-05-15T10:30:00.1Z",
    "2025-05-15T10:30:00.123456789Z",
    "2025-05-15T12:30:00+02:00",
    "2025-05-15T05:30:00.5-05:00",
]
REFUSED = [
    "2025-05-15",
    "2025-05-15 10:30:00Z",
    "2025-05-15t10:30:00z",
    "2025-05-15T10:30:00.1234567891Z",
    "2025-05-15T10:30:00-0200",
    "2025-05-15T10:30:00",
]


@pytest.mark.parametrize("text", READ)
def test_the_request_pattern_admits_what_json_format_reads(text: str) -> None:
    Timestamp().FromJsonString(text)
    assert re.fullmatch(openapi.TIMESTAMP_INPUT_PATTERN, text)
    # The response pattern is what the gateway writes: milliseconds and Z only.
    assert re.fullmatch(openapi.TIMESTAMP_PATTERN, text) is None


@pytest.mark.parametrize("text", REFUSED)
def test_the_request_pattern_refuses_what_json_format_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r".+"):
        Timestamp().FromJsonString(text)
    assert re.fullmatch(openapi.TIMESTAMP_INPUT_PATTERN, text) is None


def test_the_response_pattern_is_the_written_form() -> None:
    assert re.fullmatch(openapi.TIMESTAMP_PATTERN, "2025-05-15T10:30:00.000Z")
    assert re.fullmatch(openapi.TIMESTAMP_INPUT_PATTERN, "2025-05-15T10:30:00.000Z")


def test_the_dnc_document_describes_the_compliance_fields_both_ways() -> None:
    routes = routes_from_files(DNC_API.files)
    schemas = openapi.document(routes, DNC_API, proto_docs.leading_comments(DNC_API.files))[
        "components"
    ]["schemas"]
    entry = schemas["dnc.v1.DncEntry"]["properties"]
    for key in ("source", "reason", "requestedAt", "expiresAt", "addedBy"):
        assert entry[key]["description"]
        assert key not in schemas["dnc.v1.DncEntry"]["required"]
    assert entry["expiresAt"]["pattern"] == openapi.TIMESTAMP_PATTERN
    for name in ("dnc.v1.AddDncRequest.Input", "dnc.v1.AddDncRequest.UncheckedInput"):
        given = schemas[name]["properties"]
        for key in ("requestedAt", "expiresAt"):
            assert given[key]["anyOf"][0]["pattern"] == openapi.TIMESTAMP_INPUT_PATTERN
        assert "addedBy" not in given  # output only: not in the request message
