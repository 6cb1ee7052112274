"""The DNC API as the gateway serves it: the one place with DNC-specific names and texts."""

from __future__ import annotations

from types import MappingProxyType

from dnc.v1 import dnc_pb2
from dnc_common.wire import ORG_ID_TRAILER

from .spec import ApiSpec

OBJECT_ID_PATTERN = "^[0-9a-f]{24}$"

DNC_API = ApiSpec(
    files=(dnc_pb2.DESCRIPTOR,),
    title="DNC list API",
    upstream_name="DNC service",
    health_key="dncService",
    server_header="dnc-gateway",
    # The seed fixes ListDnc's and the contract AddDnc's and RemoveDnc's; the batch, check and
    # history texts follow their pattern. ExportDnc streams entries, with no envelope to carry one.
    success_messages=MappingProxyType(
        {
            "dnc.v1.DncService.ListDnc": "DNC list fetched successfully",
            "dnc.v1.DncService.AddDnc": "Phone number added to DNC successfully",
            "dnc.v1.DncService.RemoveDnc": "DNC record deleted successfully",
            "dnc.v1.DncService.BatchAddDnc": "DNC batch processed successfully",
            "dnc.v1.DncService.CheckDnc": "DNC check completed successfully",
            "dnc.v1.DncService.ListDncHistory": "DNC history fetched successfully",
            "dnc.v1.DncService.ImportDnc": "DNC list imported successfully",
        }
    ),
    field_bounds=MappingProxyType(
        {
            # The requests' rules come from the proto's buf.validate options (batch items,
            # answered one by one, reach AddDncRequest without them); these are the defaults
            # the service applies, which no rule states, and the responses' shapes.
            "dnc.v1.ListDncRequest.page": {"default": 1},
            "dnc.v1.ListDncRequest.limit": {"default": 10},
            "dnc.v1.ListDncHistoryRequest.limit": {"default": 20},
            "dnc.v1.DncEntry.id": {"pattern": OBJECT_ID_PATTERN},
            "dnc.v1.DncEntry.org_id": {"pattern": OBJECT_ID_PATTERN},
            "dnc.v1.DncEvent.action": {"enum": ["add", "remove", "expire"]},
            "dnc.v1.DncEvent.entry_id": {"pattern": OBJECT_ID_PATTERN},
            "dnc.v1.Pagination.total": {"minimum": 0},
            "dnc.v1.Pagination.page": {"minimum": 1},
            "dnc.v1.Pagination.limit": {"minimum": 1, "maximum": 100},
            "dnc.v1.Pagination.total_pages": {"minimum": 0},
        }
    ),
    authorization_required=True,
    # The reads: safe to send again. An export is retried only before its first message,
    # which gRPC's retry policy guarantees (a stream is committed once a response arrives).
    retryable_methods=frozenset(
        {
            "dnc.v1.DncService.ListDnc",
            "dnc.v1.DncService.CheckDnc",
            "dnc.v1.DncService.ExportDnc",
            "dnc.v1.DncService.ListDncHistory",
        }
    ),
    # Content-Disposition of an export as CSV.
    download_names=MappingProxyType({"dnc.v1.DncService.ExportDnc": "dnc-export"}),
    always_set=frozenset({"dnc.v1.ListDncResponse.pagination"}),
    # The service names the caller's organization in this trailer for the access log.
    logged_trailers=MappingProxyType({ORG_ID_TRAILER: "org_id"}),
)
