"""Typed reads of the environment, each error naming its variable: the one way settings load."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


class Env:
    """Typed reads of one environment mapping, each error naming its variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def optional(self, name: str, deprecated: tuple[str, ...] = ()) -> str | None:
        """The first non-blank of `name`, then of each deprecated alias in order."""
        return self._lookup(name, deprecated)[1]

    def _lookup(self, name: str, deprecated: tuple[str, ...]) -> tuple[str, str | None]:
        """The value and the variable that supplied it, so errors name what the user set."""
        for candidate in (name, *deprecated):
            value = self._environ.get(candidate, "").strip()
            if value:
                return candidate, value
        return name, None

    def text(self, name: str, default: str, deprecated: tuple[str, ...] = ()) -> str:
        return self.optional(name, deprecated) or default

    def path(self, name: str, deprecated: tuple[str, ...] = ()) -> Path | None:
        name, value = self._lookup(name, deprecated)
        if value is None:
            return None
        path = Path(value)
        if not path.is_file():
            raise SettingsError(f"{name}={value!r}: no such file")
        return path

    def seconds(self, name: str, default: float, minimum: float = 0.001) -> float:
        value = self.optional(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise SettingsError(f"{name}={value!r}: expected a number of seconds") from None
        if not minimum <= number <= 86400:
            raise SettingsError(f"{name}={value!r}: expected seconds in [{minimum}, 86400]")
        return number

    def integer(self, name: str, default: int, minimum: int = 1) -> int:
        value = self.optional(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(f"{name}={value!r}: expected an integer") from None
        if number < minimum:
            raise SettingsError(f"{name}={value!r}: expected an integer >= {minimum}")
        return number

    def boolean(self, name: str, default: bool, deprecated: tuple[str, ...] = ()) -> bool:
        name, value = self._lookup(name, deprecated)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name}={value!r}: expected true or false")

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = (self.optional(name) or default).upper()
        if value not in choices:
            raise SettingsError(f"{name}={value!r}: expected one of {', '.join(choices)}")
        return value
