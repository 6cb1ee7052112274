"""What the generic transcoder is told about the API it serves: one frozen value, no globals.

Routing, rendering, errors and OpenAPI know proto descriptors and HTTP, never a product; each
API's names, texts and documented bounds reach them through an ApiSpec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.descriptor import FileDescriptor

from .envelope import DEFAULT_SUCCESS_MESSAGE, DEFAULT_UPSTREAM


@dataclass(frozen=True)
class ApiSpec:
    """One API served over REST: its descriptor files and the words around them."""

    # Every google.api.http binding of these files' unary RPCs becomes a route.
    files: tuple[FileDescriptor, ...]
    # The OpenAPI document's title.
    title: str
    # The service behind the gateway, as 5xx texts, logs and the /healthz docs name it.
    upstream_name: str = DEFAULT_UPSTREAM
    # /healthz's key for the upstream's own health status.
    health_key: str = "upstream"
    # The HTTP Server header (instead of aiohttp's, which names versions).
    server_header: str = "grpc-gateway"
    # The success envelope's `message` per RPC full name; others get a generic text.
    success_messages: Mapping[str, str] = field(default_factory=dict)
    # JSON Schema keywords, by field full name, for what the proto says only in comments (response
    # bounds, defaults); request rules declared as buf.validate options need no entry here.
    field_bounds: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Message fields the service always sets, though proto3 gives them presence.
    always_set: frozenset[str] = frozenset()
    # Trailing metadata the access log carries: trailer key -> log field (None when absent).
    logged_trailers: Mapping[str, str] = field(default_factory=dict)
    # Every RPC needs credentials: a request without an Authorization header is refused (401)
    # before its parameters are read, as the service would refuse it.
    authorization_required: bool = False
    # RPCs that only read, by full name: the gateway retries them on UNAVAILABLE (a replica
    # restarting) within the call's deadline. Never a write: a retried write could apply twice.
    retryable_methods: frozenset[str] = frozenset()
    # The file name (without .csv) a server stream's CSV is saved as, by RPC full name; others
    # are named after their RPC.
    download_names: Mapping[str, str] = field(default_factory=dict)
    version: str = "1.0.0"

    def success_message(self, method_full_name: str) -> str:
        return self.success_messages.get(method_full_name, DEFAULT_SUCCESS_MESSAGE)

    def download_name(self, method_full_name: str) -> str:
        return self.download_names.get(method_full_name, method_full_name.rsplit(".", 1)[-1])

    def __post_init__(self) -> None:
        """A name that matches nothing would silently never apply: fail at start instead."""
        pools = {id(file.pool): file.pool for file in self.files}.values()

        def known(name: str, rpc: bool) -> bool:
            for pool in pools:
                try:
                    pool.FindMethodByName(name) if rpc else pool.FindFieldByName(name)
                except KeyError:
                    continue
                return True
            return False

        for name in (*self.success_messages, *self.retryable_methods, *self.download_names):
            if not known(name, rpc=True):
                raise ValueError(
                    f"success_messages/retryable_methods/download_names: no RPC {name!r} "
                    "in the spec's files"
                )
        for name in (*self.field_bounds, *self.always_set):
            if not known(name, rpc=False):
                raise ValueError(f"field_bounds/always_set: no field {name!r} in the spec's files")
