"""Made-up proto files for the generic gateway and rules tests, built the one way: a
FileDescriptorProto filled through FileBuilder and added to the default pool once."""

from __future__ import annotations

from typing import Any

from google.api import annotations_pb2  # type: ignore[import-untyped]
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FileDescriptor

from buf.validate import validate_pb2

Field = descriptor_pb2.FieldDescriptorProto
# (name, type, extra FieldDescriptorProto keywords); json_name defaults to the name.
FieldSpec = tuple[str, int, dict[str, Any]]
REPEATED: dict[str, Any] = {"label": Field.LABEL_REPEATED}


class FileBuilder:
    """A proto3 file under construction: enums, messages, map entries and annotated RPCs."""

    def __init__(self, name: str, package: str, *dependencies: str) -> None:
        self.package = package
        self.proto = descriptor_pb2.FileDescriptorProto(
            name=name, package=package, syntax="proto3", dependency=list(dependencies)
        )

    def type_name(self, name: str) -> str:
        """`.package.Name`, as a field's type_name or a method's input_type names a message."""
        return f".{self.package}.{name}"

    def enum(self, name: str, *values: str) -> None:
        """An enum whose values are numbered from 0 in the order given."""
        self.proto.enum_type.add(name=name).value.extend(
            descriptor_pb2.EnumValueDescriptorProto(name=value, number=number)
            for number, value in enumerate(values)
        )

    def message(
        self, name: str, *fields: FieldSpec, within: descriptor_pb2.DescriptorProto | None = None
    ) -> descriptor_pb2.DescriptorProto:
        """A message (nested `within` another) whose fields are numbered from 1."""
        message = (within.nested_type if within else self.proto.message_type).add(name=name)
        for field_name, kind, extra in fields:
            add_field(message, field_name, kind, **extra)
        return message

    def map_entry(
        self, within: descriptor_pb2.DescriptorProto, name: str, value_type: int
    ) -> descriptor_pb2.DescriptorProto:
        """The nested `<Name>Entry` of a map<string, value_type> field."""
        entry = self.message(
            name, ("key", Field.TYPE_STRING, {}), ("value", value_type, {}), within=within
        )
        entry.options.map_entry = True
        return entry

    def rpc(
        self, service: str, name: str, request: str, response: str, streaming: bool = False
    ) -> Any:
        """An RPC of `service` (made on first use); returns its google.api.http rule to fill."""
        found = [each for each in self.proto.service if each.name == service]
        owner = found[0] if found else self.proto.service.add(name=service)
        method = owner.method.add(
            name=name,
            input_type=self.type_name(request),
            output_type=self.type_name(response),
            server_streaming=streaming,
        )
        return method.options.Extensions[annotations_pb2.http]

    def build(self) -> FileDescriptor:
        """The file from the default pool, added on the first call."""
        pool = descriptor_pool.Default()
        try:
            return pool.FindFileByName(self.proto.name)
        except KeyError:
            pool.Add(self.proto)
            return pool.FindFileByName(self.proto.name)


def add_field(
    message: descriptor_pb2.DescriptorProto, name: str, kind: int, **extra: Any
) -> descriptor_pb2.FieldDescriptorProto:
    """The message's next field: optional unless `label` says otherwise, json_name its name
    unless given."""
    extra.setdefault("label", Field.LABEL_OPTIONAL)
    extra.setdefault("json_name", name)
    return message.field.add(name=name, number=len(message.field) + 1, type=kind, **extra)


def ruled_field(
    message: descriptor_pb2.DescriptorProto, name: str, kind: int, **extra: Any
) -> validate_pb2.FieldRules:
    """Add a field (as add_field) and return its buf.validate rules, to fill in."""
    field = add_field(message, name, kind, **extra)
    rules: validate_pb2.FieldRules = field.options.Extensions[validate_pb2.field]
    return rules
