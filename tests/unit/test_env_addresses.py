"""host:port parsing to its edges, with the text that says what is wrong, and optional
integers and texts read under their old names too."""

from __future__ import annotations

import pytest

from dnc_common.env import Env, SettingsError, host_port

PORT_TEXT = "expected host:port with a port from 0 to 65535"


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("h:65535", ("h", 65535)),
        ("[a]:80", ("a", 80)),  # the shortest bracketed host
        ("X.example:80", ("X.example", 80)),
    ],
)
def test_edges_that_are_accepted(value: str, parts: tuple[str, int]) -> None:
    assert host_port(value) == parts


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("h:65536", PORT_TEXT),
        ("h:x1", PORT_TEXT),
        ("h", PORT_TEXT),
        ("[]:80", "expected [IPv6 address]:port"),
        ("[::1:80", "expected [IPv6 address]:port"),
        ("a/b:80", "expected a host name or address before :port"),
        ("::1:80", "expected a host name or address before :port"),
    ],
)
def test_each_refusal_says_what_is_wrong(value: str, text: str) -> None:
    with pytest.raises(ValueError, match=r"^expected ") as raised:
        host_port(value)
    assert str(raised.value) == text


def test_an_optional_integer_is_at_least_one_unless_told() -> None:
    env = Env({"N": "1", "Z": "0"})
    assert env.optional_integer("N") == 1
    assert env.optional_integer("UNSET") is None
    with pytest.raises(SettingsError, match=r"Z='0': expected an integer >= 1"):
        env.optional_integer("Z")
    assert env.optional_integer("Z", minimum=0) == 0


def test_old_names_are_read_by_optional_integer_and_text() -> None:
    env = Env({"OLD_N": "7", "OLD_T": "word"})
    assert env.optional_integer("NEW_N", deprecated=("OLD_N",)) == 7
    assert env.text("NEW_T", "default", deprecated=("OLD_T",)) == "word"
    assert env.text("NEW_U", "default", deprecated=("OLD_U",)) == "default"
