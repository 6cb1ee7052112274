"""Typed reads of the environment, each error naming its variable: the one way settings load."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


def host_port(value: str) -> tuple[str, int]:
    """`host:port` (a bracketed IPv6 host, or an empty host for all interfaces) as its parts;
    ValueError naming what is wrong."""
    host, colon, port = value.strip().rpartition(":")
    if not colon or not port.isdecimal() or not 0 <= int(port) <= 65535:
        raise ValueError("expected host:port with a port from 0 to 65535")
    return _host(host), int(port)


def _host(host: str) -> str:
    """The host part of `host:port`: a name, an IPv4 address, a bracketed IPv6 one, or empty."""
    if host.startswith("["):
        if not host.endswith("]") or len(host) < 3:
            raise ValueError("expected [IPv6 address]:port")
        return host[1:-1]
    if ":" in host or any(char.isspace() or char in "/[]" for char in host):
        raise ValueError("expected a host name or address before :port")
    return host


class Env:
    """Typed reads of one environment mapping, each error naming its variable.

    Every read takes `deprecated`: older names of the variable, read only when the current
    name is unset; each one used is recorded in `deprecations` for the caller to log.
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.deprecations: list[str] = []

    def _read(self, name: str, deprecated: tuple[str, ...]) -> tuple[str, str | None]:
        """The variable that supplies the value (`name` or an old name) and its value."""
        for candidate in (name, *deprecated):
            value = self._environ.get(candidate, "").strip()
            if value:
                if candidate != name:
                    self.deprecations.append(f"{candidate} is deprecated: set {name} instead")
                return candidate, value
        return name, None

    def optional(self, name: str, deprecated: tuple[str, ...] = ()) -> str | None:
        return self._read(name, deprecated)[1]

    def text(self, name: str, default: str, deprecated: tuple[str, ...] = ()) -> str:
        return self.optional(name, deprecated) or default

    def path(self, name: str, deprecated: tuple[str, ...] = ()) -> Path | None:
        name, value = self._read(name, deprecated)
        if value is None:
            return None
        path = Path(value)
        if not path.is_file():
            raise SettingsError(f"{name}={value!r}: no such file")
        return path

    def seconds(
        self, name: str, default: float, minimum: float = 0.001, deprecated: tuple[str, ...] = ()
    ) -> float:
        name, value = self._read(name, deprecated)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise SettingsError(f"{name}={value!r}: expected a number of seconds") from None
        if not minimum <= number <= 86400:
            raise SettingsError(f"{name}={value!r}: expected seconds in [{minimum}, 86400]")
        return number

    def integer(
        self, name: str, default: int, minimum: int = 1, deprecated: tuple[str, ...] = ()
    ) -> int:
        name, value = self._read(name, deprecated)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(f"{name}={value!r}: expected an integer") from None
        if number < minimum:
            raise SettingsError(f"{name}={value!r}: expected an integer >= {minimum}")
        return number

    def optional_integer(
        self, name: str, minimum: int = 1, deprecated: tuple[str, ...] = ()
    ) -> int | None:
        """An integer when the variable is set, None when it is not."""
        if self.optional(name, deprecated) is None:
            return None
        return self.integer(name, 0, minimum, deprecated)

    def address(self, name: str, deprecated: tuple[str, ...] = ()) -> str | None:
        """An optional `host:port` to listen on, checked (see host_port)."""
        name, value = self._read(name, deprecated)
        if value is None:
            return None
        try:
            host_port(value)
        except ValueError as error:
            raise SettingsError(f"{name}={value!r}: {error}") from None
        return value

    def boolean(self, name: str, default: bool, deprecated: tuple[str, ...] = ()) -> bool:
        name, value = self._read(name, deprecated)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name}={value!r}: expected true or false")

    def choice(
        self, name: str, default: str, choices: tuple[str, ...], deprecated: tuple[str, ...] = ()
    ) -> str:
        name, value = self._read(name, deprecated)
        value = (value or default).upper()
        if value not in choices:
            raise SettingsError(f"{name}={value!r}: expected one of {', '.join(choices)}")
        return value
