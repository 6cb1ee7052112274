"""In-process costs: the gateway's JSON rendering (protobuf's generic path against ours), and
the service's request-rule check (protovalidate on the proto's buf.validate rules)."""

from __future__ import annotations

import json
import timeit
from functools import partial

from google.protobuf import json_format

from dnc.v1 import dnc_pb2
from dnc_service import page_tokens
from dnc_service.validation import requests as validation
from dnc_service.validation import rules
from gateway import envelope, rendering
from gateway.dnc_api import DNC_API


def sample_page() -> dnc_pb2.ListDncResponse:
    """A full 10-entry page, as the service sends it."""
    page = dnc_pb2.ListDncResponse(
        pagination=dnc_pb2.Pagination(total=42, page=1, limit=10, total_pages=5)
    )
    for n in range(10):
        entry = page.dnc_list.add(
            id=f"64e5f12345abcdef9876{n:04d}",
            phone_number=f"1212555{n:04d}",
            type="customer_request",
            org_id="64e5f12345abcdef12345678",
            batch_id="64e5f12345abcdef87654321",
            request_uuid="550e8400-e29b-41d4-a716-446655440000",
            call_recording="https://example.com/recording.mp3",
            transcription="Customer requested to be removed from calling list",
        )
        entry.created_at.FromJsonString("2025-05-15T10:30:00.123Z")
    return page


def rendering_microseconds(repeat: int = 2000) -> dict[str, float]:
    """Microseconds per page to build the envelope's bytes, each way, best of five runs."""
    page = sample_page()
    message = DNC_API.success_message("dnc.v1.DncService.ListDnc")

    def generic() -> bytes:
        data = json_format.MessageToDict(page, always_print_fields_with_no_presence=True)
        envelope = {
            "message": message,
            "status": True,
            "code": 200,
            "errorMessage": "",
            "data": data,
        }
        return json.dumps(envelope).encode()

    def ours() -> bytes:
        return envelope.success_body(message, rendering.message_to_dict(page))

    return {
        name: min(timeit.repeat(function, number=repeat, repeat=5)) / repeat * 1e6
        for name, function in (
            ("MessageToDict + json", generic),
            ("descriptor plan + orjson", ours),
        )
    }


def validation_microseconds(repeat: int = 20000) -> dict[str, float]:
    """Microseconds per ListDnc request to check the proto's rules (and to parse it whole,
    defaults included), best of five runs."""
    request = dnc_pb2.ListDncRequest(page=3, limit=50, search="+1 (212) 555")
    tokens = page_tokens.PageTokens([bytes(32)])
    parse = partial(validation.parse_list, org_id="64e5f12345abcdef12345678", tokens=tokens)
    return {
        name: min(timeit.repeat(partial(function, request), number=repeat, repeat=5)) / repeat * 1e6
        for name, function in (
            ("protovalidate rules", rules.check),
            ("rules + defaults", parse),
        )
    }
