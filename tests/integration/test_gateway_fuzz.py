"""Schemathesis against the live gateway, from the gateway's own /openapi.json."""

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


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_gateway_keeps_its_own_document(
    gateway: Gateway, new_org: OrgFactory, mode: GenerationMode
) -> None:
    token = new_org(entries=25).token
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
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
        max_examples=50,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case: Any) -> None:
        response = case.call_and_validate(checks=CHECKS, timeout=15)
        calls.append(response.status_code)

    check()
    assert len(calls) >= 20  # the fuzzing really ran
    assert all(status < 500 for status in calls)
    if mode is GenerationMode.POSITIVE:
        assert 200 in calls
