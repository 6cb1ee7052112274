"""Schemathesis against the live gateway, from the gateway's own /openapi.json.

Reads (list, export, delete) get every check. The writes (add, batch-add, check) get all but
positive_data_acceptance: whether a generated string is a phone number is the service's
phonenumbers rule, which no schema states, so a "valid" body may rightly be a 400; they must
still never be a 5xx, and data the schema forbids must be refused. The history takes one number
(and a sealed pageToken): the writes' checks, without requiring a 200, since a generated string
is rarely a possible number. The streamed bodies (scrub, import) get the same.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from data_support import OrgFactory
from gateway_support import Gateway

CHECKS = [
    not_a_server_error,
    positive_data_acceptance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


WRITES = ("/api/dnc/add", "/api/dnc/batch-add", "/api/dnc/check")
HISTORY = "/api/dnc/history"
# Streamed bodies (NDJSON or CSV): the writes' checks, without requiring a 200 (a CSV header
# with no row is schema-valid, and an empty import is the service's 400).
STREAMS = ("/api/dnc/scrub", "/api/dnc/import")
WRITE_CHECKS = [check for check in CHECKS if check is not positive_data_acceptance]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_gateway_keeps_its_own_document(
    gateway: Gateway, new_org: OrgFactory, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
    fuzz(
        schema.exclude(path=[*WRITES, HISTORY, *STREAMS]),
        new_org(entries=25).token,
        mode,
        CHECKS,
        50,
    )


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_write_routes_never_fail_on_the_servers_side(
    gateway: Gateway, new_org: OrgFactory, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
    fuzz(schema.include(path=list(WRITES)), new_org(entries=5).token, mode, WRITE_CHECKS, 50)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_history_never_fails_on_the_servers_side(
    gateway: Gateway, new_org: OrgFactory, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
    fuzz(schema.include(path=[HISTORY]), new_org().token, mode, WRITE_CHECKS, 30, succeeds=False)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_streamed_body_routes_never_fail_on_the_servers_side(
    gateway: Gateway, new_org: OrgFactory, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
    fuzz(
        schema.include(path=list(STREAMS)), new_org().token, mode, WRITE_CHECKS, 30, succeeds=False
    )


def fuzz(
    schema: Any,
    token: str,
    mode: GenerationMode,
    checks: list[Any],
    examples: int,
    succeeds: bool = True,
) -> None:
    """Run `examples` generated cases per operation with `checks`; none may be a 5xx, and (when
    `succeeds`) some positive case must be a 200."""
    calls: list[int] = []

    # Through schemathesis' auth, so negative cases that drop the credentials really lack them.
    @schema.auth()
    class BearerToken:
        def get(self, case: Any, context: Any) -> str:
            return token

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    @given(case=schema.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case: Any) -> None:
        response = case.call_and_validate(checks=checks, timeout=15)
        calls.append(response.status_code)

    check()
    assert len(calls) >= examples // 2  # the fuzzing really ran
    assert all(status < 500 for status in calls)
    if mode is GenerationMode.POSITIVE and succeeds:
        assert 200 in calls
