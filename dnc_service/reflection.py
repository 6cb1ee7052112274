"""Server reflection that includes the proto's comments, so `grpcurl describe` shows them.

Generated `_pb2` modules carry descriptors without source info, and grpcio-reflection
serves what `CopyToProto` gives. `make proto` also writes a descriptor set with source
info (dnc/v1/dnc.binpb); this pool answers with those file protos where it has them.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection


def _documented_files() -> dict[str, descriptor_pb2.FileDescriptorProto]:
    data = resources.files("dnc.v1").joinpath("dnc.binpb").read_bytes()
    return {f.name: f for f in descriptor_pb2.FileDescriptorSet.FromString(data).file}


class _DocumentedFile:
    """A file descriptor whose CopyToProto keeps the comments."""

    def __init__(
        self, file: Any, documented: dict[str, descriptor_pb2.FileDescriptorProto]
    ) -> None:
        self._file = file
        self._documented = documented
        self.name: str = file.name

    @property
    def dependencies(self) -> list[_DocumentedFile]:
        return [
            _DocumentedFile(dependency, self._documented) for dependency in self._file.dependencies
        ]

    def CopyToProto(self, proto: descriptor_pb2.FileDescriptorProto) -> None:
        if self.name in self._documented:
            proto.CopyFrom(self._documented[self.name])
        else:
            self._file.CopyToProto(proto)


class _DocumentedPool:
    """The default pool, answering file lookups with documented files."""

    def __init__(self) -> None:
        self._pool = descriptor_pool.Default()
        self._documented = _documented_files()

    def FindFileByName(self, name: str) -> _DocumentedFile:
        return _DocumentedFile(self._pool.FindFileByName(name), self._documented)

    def FindFileContainingSymbol(self, symbol: str) -> _DocumentedFile:
        try:
            found = self._pool.FindFileContainingSymbol(symbol)
        except KeyError:
            # The pool does not index methods; clients such as ghz ask for `Service.Method`.
            service, _, _ = symbol.rpartition(".")
            if not service:
                raise
            found = self._pool.FindFileContainingSymbol(service)
        return _DocumentedFile(found, self._documented)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def enable(service_names: tuple[str, ...], server: grpc.aio.Server) -> None:
    """Serve reflection (v1alpha, as grpcio-reflection does) for `service_names` and itself."""
    reflection.enable_server_reflection(
        (*service_names, reflection.SERVICE_NAME),
        server,
        pool=_DocumentedPool(),  # type: ignore[arg-type]  # duck-typed: only lookups are used
    )
