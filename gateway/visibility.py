"""Which fields REST shows: all but those restricted with `google.api.field_visibility`.

The proto marks gRPC-only fields (page tokens) this way, so the REST API keeps the seed's
contract exactly while transcoding stays driven by the descriptors alone.
"""

from __future__ import annotations

from google.api import visibility_pb2  # type: ignore[import-untyped]
from google.protobuf.descriptor import FieldDescriptor


def rest_visible(field: FieldDescriptor) -> bool:
    """False for a field with any visibility restriction."""
    options = field.GetOptions()
    if not options.HasExtension(visibility_pb2.field_visibility):
        return True
    return not options.Extensions[visibility_pb2.field_visibility].restriction
