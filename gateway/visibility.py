"""Which fields REST shows: all but those restricted with `google.api.field_visibility`.

The proto marks gRPC-only fields (page tokens) this way, so the REST API keeps the seed's
contract exactly while transcoding stays driven by the descriptors alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from google.api import visibility_pb2  # type: ignore[import-untyped]
from google.protobuf.descriptor import Descriptor, FieldDescriptor


def rest_visible(field: FieldDescriptor) -> bool:
    """False for a field with any visibility restriction."""
    options = field.GetOptions()
    if not options.HasExtension(visibility_pb2.field_visibility):
        return True
    return not options.Extensions[visibility_pb2.field_visibility].restriction


def rest_fields(message: Descriptor, exclude: Iterable[str] = ()) -> dict[str, FieldDescriptor]:
    """Each REST-visible field under its proto name and its JSON name."""
    by_name: dict[str, FieldDescriptor] = {}
    for field in message.fields:
        if field.name not in exclude and rest_visible(field):
            by_name[field.name] = field
            by_name[field.json_name] = field
    return by_name
