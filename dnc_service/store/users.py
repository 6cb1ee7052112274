"""Users to organizations: the only source of tenancy, optionally cached for a while."""

from __future__ import annotations

import time
from collections.abc import Callable

from bson import ObjectId
from cachetools import TTLCache
from pymongo.asynchronous.collection import AsyncCollection

from ..errors import PermissionDenied, Unauthenticated
from ..ids import is_hex_id
from .client import Document, driver_errors
from .schema import ID, ORG_ID


class UsersStore:
    """Reads a user's `orgId` from the users collection.

    With `cache_ttl_seconds` > 0, found organizations are remembered that long (by `timer`):
    one query less per call, at the price that a user moved or removed keeps their old
    organization until the entry expires. Failures are never cached.
    """

    def __init__(
        self,
        users: AsyncCollection[Document],
        cache_ttl_seconds: float = 0,
        cache_size: int = 1,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._users = users
        self._cache: TTLCache[str, str] | None = (
            TTLCache(cache_size, cache_ttl_seconds, timer) if cache_ttl_seconds > 0 else None
        )

    async def organization_of(self, user_id: str) -> str:
        """The organization id (24 lowercase hex) of user `user_id` (24 hex, as the verified
        token's `sub` always is).

        Unauthenticated when no such user exists, PermissionDenied when it has no organization.
        """
        if self._cache is not None and (cached := self._cache.get(user_id)) is not None:
            return cached
        org_id = await self._lookup(user_id)
        if self._cache is not None:
            self._cache[user_id] = org_id
        return org_id

    async def _lookup(self, user_id: str) -> str:
        with driver_errors():
            user = await self._users.find_one({ID: ObjectId(user_id)}, {ORG_ID: 1})
        if user is None:
            raise Unauthenticated("invalid bearer token: unknown user", reason="UNKNOWN_USER")
        org_id = user.get(ORG_ID)
        if is_hex_id(org_id):
            return org_id.lower()
        if not isinstance(org_id, ObjectId):
            raise PermissionDenied(
                "the user does not belong to an organization", reason="NO_ORGANIZATION"
            )
        return str(org_id)
