"""Opaque page tokens (AIP-158): where the next page starts, sealed for one caller and search.

A token resumes right after the last entry it saw (keyset): at index cost however deep the
page, and stable when entries are inserted meanwhile. The position is encrypted and
authenticated with AES-256-GCM under a server key, with the caller's organization and the
search as associated data: a token altered, made up, replayed by another organization or
reused with another search does not open, and nothing in it (not even a digest of the
search) can be read or brute-forced. A `purpose` (ListDncHistory's tokens) joins the associated
data, so a token of one RPC never opens for another; ListDnc's has none, so its tokens are
unchanged. The first key seals; every key opens, so keys rotate
(DNC_PAGE_TOKEN_KEYS, see docs/operations.md). This module knows positions, not databases:
store/order.py turns a position's sort key into a filter.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dnc.v1 import dnc_pb2

from .errors import InvalidArgument
from .ids import is_lowercase_hex_id
from .validation.rules import field_rules

if TYPE_CHECKING:
    from .settings import Settings

logger = logging.getLogger(__name__)

MAX_PAGE_TOKEN_CHARS = 256
# The most entries one page holds (the proto's rule on ListDncRequest.limit): bounds the offsets
# a token may carry.
MAX_PAGE_SIZE = field_rules(dnc_pb2.ListDncRequest.DESCRIPTOR, "limit").int32.lte
KEY_BYTES = 32
INVALID_MESSAGE = "page_token is not valid: pass next_page_token as given, with the same search"
_VERSION = b"\x02"  # version 1 was the unsealed JSON token
_NONCE_BYTES = 12
_HKDF_INFO = b"dnc.v1 page tokens"
_BODY_KEYS = frozenset("pnic")
_INT32_MAX = 2**31 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_MIN_MILLISECONDS = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // _MILLISECOND
_MAX_MILLISECONDS = (
    datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - _EPOCH
) // _MILLISECOND
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)


@dataclass(frozen=True, slots=True)
class PagePosition:
    """Where a page starts: `offset` entries into the listing, right after `last_id` if known.

    `last_id` (24 lowercase hex) and `created_at` are the sort key of the previous page's
    last entry; `created_at` is None when that entry had none.
    """

    page: int
    offset: int
    last_id: str | None = None
    created_at: datetime | None = None

    @classmethod
    def at_page(cls, page: int, limit: int) -> PagePosition:
        """Page `page` of `limit` entries each, reached by offset."""
        return cls(page, (page - 1) * limit)

    @property
    def skip(self) -> int:
        """Entries the database passes over: none after a keyset position, which is past them."""
        return 0 if self.last_id is not None else self.offset

    def next(
        self, limit: int, last_id: str | None = None, created_at: datetime | None = None
    ) -> PagePosition:
        """The page after this one of `limit` entries, after the entry (`last_id`, `created_at`)."""
        return PagePosition(self.page + 1, self.offset + limit, last_id, created_at)


class PageTokens:
    """Seals page positions into tokens and opens them, bound to an organization and a search."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys or any(len(key) != KEY_BYTES for key in keys):
            raise ValueError(f"page token keys are {KEY_BYTES} bytes, at least one")
        self._ciphers = [AESGCM(key) for key in keys]

    @classmethod
    def from_settings(cls, settings: Settings) -> PageTokens:
        """DNC_PAGE_TOKEN_KEYS, else a key derived from DNC_JWT_SECRET (replicas agree), else
        a random key of this process (with a warning: tokens die with it)."""
        if settings.page_token_keys:
            return cls(settings.page_token_keys)
        if settings.jwt_secret:
            return cls([derive_key(settings.jwt_secret)])
        logger.warning(
            "page tokens use a random key of this process: they will not survive a restart "
            "or work across replicas; set DNC_PAGE_TOKEN_KEYS"
        )
        return cls([os.urandom(KEY_BYTES)])

    def encode(self, position: PagePosition, org_id: str, search: str, purpose: str = "") -> str:
        """The opaque token of `position`, valid only for `org_id` with the same `search`
        (and `purpose`)."""
        body: dict[str, Any] = {"p": position.page, "n": position.offset}
        if position.last_id is not None:
            body["i"] = position.last_id
            if position.created_at is not None:
                body["c"] = _milliseconds(position.created_at)
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[0].encrypt(
            nonce, orjson.dumps(body), _bound_to(org_id, search, purpose)
        )
        return base64.urlsafe_b64encode(_VERSION + nonce + sealed).decode().rstrip("=")

    def decode(
        self,
        token: str,
        org_id: str,
        search: str,
        purpose: str = "",
        invalid_message: str = INVALID_MESSAGE,
    ) -> PagePosition:
        """Open and check a token; anything unexpected is INVALID_ARGUMENT (`invalid_message`),
        never a crash."""
        try:
            if len(token) > MAX_PAGE_TOKEN_CHARS or not _BASE64URL.fullmatch(token):
                raise ValueError(token)
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            if raw[:1] != _VERSION:
                raise ValueError(token)
            nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
            associated = _bound_to(org_id, search, purpose)
            return _position(orjson.loads(self._open(nonce, sealed, associated)))
        except (ValueError, KeyError, TypeError, binascii.Error, OverflowError, InvalidTag):
            raise InvalidArgument(invalid_message, field="page_token") from None

    def _open(self, nonce: bytes, sealed: bytes, associated: bytes) -> bytes:
        if len(nonce) != _NONCE_BYTES:
            raise ValueError(nonce)
        for cipher in self._ciphers:
            try:
                return cipher.decrypt(nonce, sealed, associated)
            except InvalidTag:
                continue
        raise InvalidTag


def derive_key(secret: str) -> bytes:
    """The page-token key every replica derives from the same JWT secret (HKDF-SHA256)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=_HKDF_INFO)
    return hkdf.derive(secret.encode())


def _bound_to(org_id: str, search: str, purpose: str = "") -> bytes:
    """The associated data: what a token is for, checked but not carried. A purpose is a last
    NUL-separated part, which no search can imitate (the rules refuse control characters)."""
    parts = [_VERSION, org_id.encode(), search.encode("utf-8", "surrogatepass")]
    if purpose:
        parts.append(purpose.encode())
    return b"\0".join(parts)


def _position(body: object) -> PagePosition:
    """A position from a body, with exact types, known keys only, and consistent bounds."""
    if not isinstance(body, dict) or not {"p", "n"} <= body.keys() <= _BODY_KEYS:
        raise ValueError(body)
    if "c" in body and "i" not in body:
        raise ValueError(body)
    page = _int_in(body["p"], 1, _INT32_MAX)
    # Each page before this one held 1 to MAX_PAGE_SIZE entries.
    offset = _int_in(body["n"], page - 1, (page - 1) * MAX_PAGE_SIZE)
    return PagePosition(
        page,
        offset,
        last_id=_id(body["i"]) if "i" in body else None,
        created_at=_from_milliseconds(body["c"]) if "c" in body else None,
    )


def _id(value: object) -> str:
    if not is_lowercase_hex_id(value):
        raise ValueError(value)
    return value


def _milliseconds(moment: datetime) -> int:
    """Exact integer milliseconds (stored dates have no finer precision)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MILLISECOND


def _from_milliseconds(value: object) -> datetime:
    return _EPOCH + _int_in(value, _MIN_MILLISECONDS, _MAX_MILLISECONDS) * _MILLISECOND


def _int_in(value: object, minimum: int, maximum: int) -> int:
    if type(value) is not int or not minimum <= value <= maximum:
        raise ValueError(value)
    return value
