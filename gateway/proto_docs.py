"""Proto comments by full name, from the descriptor set `make proto` writes beside the code."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import PurePosixPath

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor

# FileDescriptorProto field numbers in a SourceCodeInfo path (descriptor.proto).
_MESSAGE, _SERVICE, _FIELD, _METHOD = 4, 6, 2, 2


def leading_comments(files: Iterable[FileDescriptor]) -> dict[str, str]:
    """`pkg.v1.Request.page` -> its comment, for files whose `.binpb` ships (else none)."""
    comments: dict[str, str] = {}
    for file in files:
        path = PurePosixPath(file.name).with_suffix(".binpb")
        try:
            package = resources.files(".".join(path.parent.parts))
            data = package.joinpath(path.name).read_bytes()
        except (ModuleNotFoundError, FileNotFoundError, ValueError):
            continue
        for proto in descriptor_pb2.FileDescriptorSet.FromString(data).file:
            if proto.name == file.name:
                comments.update(_comments(proto))
    return comments


def _comments(proto: descriptor_pb2.FileDescriptorProto) -> dict[str, str]:
    names: dict[tuple[int, ...], str] = {}
    for i, message in enumerate(proto.message_type):
        names[(_MESSAGE, i)] = full = f"{proto.package}.{message.name}"
        for j, field in enumerate(message.field):
            names[(_MESSAGE, i, _FIELD, j)] = f"{full}.{field.name}"
    for i, service in enumerate(proto.service):
        names[(_SERVICE, i)] = full = f"{proto.package}.{service.name}"
        for j, method in enumerate(service.method):
            names[(_SERVICE, i, _METHOD, j)] = f"{full}.{method.name}"
    comments: dict[str, str] = {}
    for location in proto.source_code_info.location:
        name = names.get(tuple(location.path))
        text = " ".join(location.leading_comments.split())
        if name is not None and text:
            comments[name] = text
    return comments
