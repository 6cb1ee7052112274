"""The DNC API as the gateway serves it: the one place with DNC-specific names and texts."""

from __future__ import annotations

from types import MappingProxyType

from dnc.v1 import dnc_pb2
from dnc_common.wire import ORG_ID_TRAILER

from .spec import ApiSpec

OBJECT_ID_PATTERN = "^[0-9a-f]{24}$"
# Ids the service reads: 24 hex digits, either case.
HEX_ID_PATTERN = "^[0-9a-fA-F]{24}$"
# The service refuses control characters in a search (INVALID_ARGUMENT).
SEARCH_BOUNDS = {"maxLength": 128, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"}
# Check and batch-add take 1 to 1000 items (more: INVALID_ARGUMENT, nothing written).
BATCH_BOUNDS = {"minItems": 1, "maxItems": 1000}

DNC_API = ApiSpec(
    files=(dnc_pb2.DESCRIPTOR,),
    title="DNC list API",
    upstream_name="DNC service",
    health_key="dncService",
    server_header="dnc-gateway",
    # The seed fixes ListDnc's and the contract AddDnc's and RemoveDnc's; the batch and check
    # texts follow their pattern. ExportDnc streams entries, with no envelope to carry one.
    success_messages=MappingProxyType(
        {
            "dnc.v1.DncService.ListDnc": "DNC list fetched successfully",
            "dnc.v1.DncService.AddDnc": "Phone number added to DNC successfully",
            "dnc.v1.DncService.RemoveDnc": "DNC record deleted successfully",
            "dnc.v1.DncService.BatchAddDnc": "DNC batch processed successfully",
            "dnc.v1.DncService.CheckDnc": "DNC check completed successfully",
        }
    ),
    field_bounds=MappingProxyType(
        {
            # ListDncRequest's rules come from the proto's buf.validate options; these are
            # the defaults the service applies, which no rule states.
            "dnc.v1.ListDncRequest.page": {"default": 1},
            "dnc.v1.ListDncRequest.limit": {"default": 10},
            # The management requests declare no buf.validate rules: their bounds are here.
            "dnc.v1.ExportDncRequest.search": SEARCH_BOUNDS,
            "dnc.v1.RemoveDncRequest.id": {"pattern": HEX_ID_PATTERN},
            "dnc.v1.CheckDncRequest.phone_numbers": BATCH_BOUNDS,
            "dnc.v1.BatchAddDncRequest.entries": BATCH_BOUNDS,
            # Batch items are answered one by one (a bad one is INVALID, not a 400), so AddDnc's
            # own rules (phone, ids, UUID, type) are the service's, not the schema's.
            "dnc.v1.DncEntry.id": {"pattern": OBJECT_ID_PATTERN},
            "dnc.v1.DncEntry.org_id": {"pattern": OBJECT_ID_PATTERN},
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
        }
    ),
    always_set=frozenset({"dnc.v1.ListDncResponse.pagination"}),
    # The service names the caller's organization in this trailer for the access log.
    logged_trailers=MappingProxyType({ORG_ID_TRAILER: "org_id"}),
)
