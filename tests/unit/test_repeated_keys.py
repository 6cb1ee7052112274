"""A JSON body with a key twice is refused (orjson would keep the last silently): the texts."""

from __future__ import annotations

import grpc
import pytest

from gateway.errors import GatewayError
from gateway.transcoding import refuse_repeated_keys


def refusal(body: str) -> GatewayError:
    with pytest.raises(GatewayError) as raised:
        refuse_repeated_keys(body)
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    return raised.value


def test_a_repeated_key_is_named_up_to_64_characters() -> None:
    assert refusal('{"k":1,"k":2}').details == "the request body repeats the key 'k'"
    key = "k" * 64
    assert refusal(f'{{"{key}":1,"{key}":2}}').details.endswith(f"'{key}'")
    longer = "k" * 65
    assert refusal(f'{{"{longer}":1,"{longer}":2}}').details.endswith(f"'{key}...'")


def test_a_body_too_deep_for_the_parser_is_refused_not_a_crash() -> None:
    deep = '{"a":' + "[" * 5000 + "]" * 5000 + "}"
    assert refusal(deep).details == "the request body is nested too deeply"
