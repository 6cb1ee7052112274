"""Typed environment reads: every accepted spelling, both ends of each range, each message."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnc_common.env import Env, SettingsError


def refusal(environ: dict[str, str], read: str, *args: object) -> str:
    with pytest.raises(SettingsError) as caught:
        getattr(Env(environ), read)("X", *args)
    return str(caught.value)


@pytest.mark.parametrize("text", ["1", "true", "yes", "on", "TRUE", "Yes", "ON", " on "])
def test_boolean_true_spellings(text: str) -> None:
    assert Env({"X": text}).boolean("X", default=False) is True


@pytest.mark.parametrize("text", ["0", "false", "no", "off", "FALSE", "No", "OFF"])
def test_boolean_false_spellings(text: str) -> None:
    assert Env({"X": text}).boolean("X", default=True) is False


def test_boolean_default_and_refusal() -> None:
    assert Env({}).boolean("X", default=True) is True
    assert Env({"X": "  "}).boolean("X", default=False) is False
    assert refusal({"X": "maybe"}, "boolean", True) == "X='maybe': expected true or false"


def test_text_and_optional_strip_and_fall_back() -> None:
    env = Env({"A": "  value ", "B": "   "})
    assert env.optional("A") == "value"
    assert env.optional("B") is None
    assert env.optional("C") is None
    assert env.text("A", "d") == "value"
    assert env.text("B", "d") == "d"


def test_integer_bounds_and_messages() -> None:
    assert Env({"X": "1"}).integer("X", 5) == 1  # the default minimum is 1, inclusive
    assert Env({"X": "3"}).integer("X", 5, minimum=3) == 3
    assert Env({}).integer("X", 5) == 5
    assert refusal({"X": "0"}, "integer", 5) == "X='0': expected an integer >= 1"
    assert refusal({"X": "2.5"}, "integer", 5) == "X='2.5': expected an integer"


def test_seconds_bounds_and_messages() -> None:
    assert Env({"X": "0.001"}).seconds("X", 1.0) == 0.001  # the default minimum, inclusive
    assert Env({"X": "86400"}).seconds("X", 1.0) == 86400.0
    assert Env({}).seconds("X", 2.5) == 2.5
    assert refusal({"X": "86400.5"}, "seconds", 1.0) == (
        "X='86400.5': expected seconds in [0.001, 86400]"
    )
    assert refusal({"X": "0"}, "seconds", 1.0) == "X='0': expected seconds in [0.001, 86400]"
    assert refusal({"X": "soon"}, "seconds", 1.0) == "X='soon': expected a number of seconds"


def test_choice_is_case_insensitive_and_names_the_choices() -> None:
    assert Env({"X": "debug"}).choice("X", "INFO", ("DEBUG", "INFO")) == "DEBUG"
    assert Env({}).choice("X", "info", ("DEBUG", "INFO")) == "INFO"
    assert refusal({"X": "loud"}, "choice", "INFO", ("DEBUG", "INFO")) == (
        "X='LOUD': expected one of DEBUG, INFO"
    )


def test_path_must_name_a_file(tmp_path: Path) -> None:
    present = tmp_path / "key.pem"
    present.write_text("x")
    assert Env({"X": str(present)}).path("X") == present
    assert Env({}).path("X") is None
    missing = tmp_path / "nope.pem"
    assert refusal({"X": str(missing)}, "path") == f"X={str(missing)!r}: no such file"
    assert refusal({"X": str(tmp_path)}, "path") == f"X={str(tmp_path)!r}: no such file"
