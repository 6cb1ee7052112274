"""The REST contract through the real gateway, gRPC service and database: successes and errors."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import grpc
import pytest
from bson import ObjectId
from pymongo.database import Database

from data_support import BASE_TIME, Document, OrgFactory, TokenFactory, make_entry
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from gateway.errors import http_status_from_code
from gateway_support import Gateway, Reply, error_envelope
from service_support import Service
from support import wait_until

LIST = "/api/dnc/list"
SECRET = "another-secret-another-secret-0123456"


def unauthorized(reply: Reply) -> dict[str, Any]:
    body = error_envelope(reply, 401)
    assert body["message"] == "Unauthorized"
    assert reply.headers["WWW-Authenticate"] == "Bearer"
    return body


# --- success -------------------------------------------------------------------------------


def test_a_page_renders_the_stored_entries(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org(entries=15)
    reply = gateway.get(f"{LIST}?page=2&limit=10", org.token)
    assert reply.status == 200
    body = reply.json()
    assert body["message"] == "DNC list fetched successfully"
    assert (body["status"], body["code"], body["errorMessage"]) == (True, 200, "")
    assert body["data"]["pagination"] == {"total": 15, "page": 2, "limit": 10, "totalPages": 2}
    listed = body["data"]["dncList"]
    expected = org.entries[10:]
    assert [entry["_id"] for entry in listed] == [str(doc["_id"]) for doc in expected]
    for entry, doc in zip(listed, expected, strict=True):
        assert entry == {
            "_id": str(doc["_id"]),
            "phoneNumber": doc["phoneNumber"],
            "type": doc["type"],
            "orgId": str(org.org_id),
            "batchId": str(doc["batchId"]),
            "requestUUID": doc["requestUUID"],
            "callRecording": doc["callRecording"],
            "transcription": doc["transcription"],
            "createdAt": doc["createdAt"].strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }


def test_defaults_apply_when_parameters_are_absent(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org(entries=12)
    body = gateway.get(LIST, org.token).json()
    assert body["data"]["pagination"] == {"total": 12, "page": 1, "limit": 10, "totalPages": 2}
    assert len(body["data"]["dncList"]) == 10


def test_search_reaches_the_service(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org(entries=5)
    wanted = org.entries[3]
    reply = gateway.get(f"{LIST}?search={quote(wanted['requestUUID'].upper())}", org.token)
    assert [entry["_id"] for entry in reply.json()["data"]["dncList"]] == [str(wanted["_id"])]
    phone = gateway.get(f"{LIST}?search={quote('+1 (212) 555-0002')}", org.token).json()
    assert [entry["phoneNumber"] for entry in phone["data"]["dncList"]] == ["12125550002"]


def test_fields_missing_in_the_database_are_absent(gateway: Gateway, new_org: OrgFactory) -> None:
    org_id = ObjectId()
    sparse = make_entry(
        org_id, 1, BASE_TIME, type=None, batchId=None, callRecording=None, transcription=None
    )
    org = new_org(org_id=org_id, entries=[sparse])
    (entry,) = gateway.get(LIST, org.token).json()["data"]["dncList"]
    assert list(entry) == ["_id", "phoneNumber", "orgId", "requestUUID", "createdAt"]


def test_milliseconds_are_kept_and_sub_milliseconds_dropped(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    org_id = ObjectId()
    precise = make_entry(org_id, 1, BASE_TIME.replace(microsecond=987_654))
    org = new_org(org_id=org_id, entries=[precise])
    (entry,) = gateway.get(LIST, org.token).json()["data"]["dncList"]
    assert entry["createdAt"] == "2025-05-15T10:30:00.987Z"


def test_a_page_past_the_end_is_empty_not_an_error(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org(entries=3)
    body = gateway.get(f"{LIST}?page=9&limit=2", org.token).json()
    assert body["data"] == {
        "dncList": [],
        "pagination": {"total": 3, "page": 9, "limit": 2, "totalPages": 2},
    }


@pytest.mark.parametrize("name", ["pageToken", "page_token"])
def test_grpc_only_page_tokens_stay_out_of_rest(
    gateway: Gateway, new_org: OrgFactory, name: str
) -> None:
    """Fields marked google.api.field_visibility are neither shown nor read: the seed's contract."""
    org = new_org(entries=5)
    first = gateway.get(f"{LIST}?limit=2", org.token).json()
    assert list(first["data"]) == ["dncList", "pagination"]  # a next page exists, no token shown
    with_token = gateway.get(f"{LIST}?limit=2&{name}=anything", org.token)
    assert with_token.status == 200
    assert with_token.json() == first


def test_unknown_parameters_are_ignored(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org(entries=3)
    plain = gateway.get(f"{LIST}?limit=2", org.token)
    noisy = gateway.get(f"{LIST}?limit=2&sort=asc&orgId={ObjectId()}&foo=&foo=1", org.token)
    assert noisy.status == 200
    assert noisy.json() == plain.json()


# --- authentication and tenancy ------------------------------------------------------------


def test_missing_authorization(gateway: Gateway) -> None:
    unauthorized(gateway.get(LIST))


@pytest.mark.parametrize(
    "value", ["Basic dXNlcjpwYXNz", "Bearer", "Token abc.def.ghi", "Bearer not-a-jwt"]
)
def test_not_a_bearer_jwt(gateway: Gateway, value: str) -> None:
    unauthorized(gateway.request(LIST, headers={"Authorization": value}))


def test_garbage_token(gateway: Gateway) -> None:
    unauthorized(gateway.get(LIST, "eyJhbGciOi.garbage.garbage"))


def test_bad_signature(gateway: Gateway, new_org: OrgFactory, make_token: TokenFactory) -> None:
    org = new_org()
    unauthorized(gateway.get(LIST, make_token(str(org.user_id), key=SECRET)))


def test_expired_token(gateway: Gateway, new_org: OrgFactory, make_token: TokenFactory) -> None:
    org = new_org()
    unauthorized(gateway.get(LIST, make_token(str(org.user_id), exp=int(time.time()) - 120)))


def test_unknown_user(gateway: Gateway, make_token: TokenFactory) -> None:
    unauthorized(gateway.get(LIST, make_token(str(ObjectId()))))


@pytest.mark.parametrize("value", ["Bearer t\u00e9st", "Bearer\tabc.def.ghi"])
def test_a_header_grpc_cannot_carry_is_unauthorized_not_a_crash(
    gateway: Gateway, value: str
) -> None:
    body = unauthorized(gateway.request(LIST, headers={"Authorization": value}))
    assert "ASCII" in body["errorMessage"]


def test_user_without_organization_is_forbidden(
    gateway: Gateway, mongo_db: Database[Document], make_token: TokenFactory
) -> None:
    user_id = mongo_db.users.insert_one({"name": "no org"}).inserted_id
    reply = gateway.get(LIST, make_token(str(user_id)))
    body = error_envelope(reply, 403)
    assert body["message"] == "Forbidden"
    assert "WWW-Authenticate" not in reply.headers


@pytest.mark.parametrize(
    "scheme",
    ["Bearer {}", "bearer {}", "BEARER {}", "Bearer  {}", "Token {}", "{}"],
)
def test_authorization_reaches_the_service_unchanged(
    gateway: Gateway, stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, scheme: str
) -> None:
    """Whatever the service decides for a header value over gRPC, the gateway answers the same."""
    org = new_org(entries=1)
    value = scheme.format(org.token)
    try:
        stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=(("authorization", value),), timeout=10)
        expected = 200
    except grpc.RpcError as error:
        expected = http_status_from_code(error.code())
    assert gateway.request(LIST, headers={"Authorization": value}).status == expected


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "mentions"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=", "page"),
        ("page=1.0", "page"),
        ("page=2147483648", "page"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=1.5", "limit"),
        ("limit=-2147483649", "limit"),
        ("search=" + "x" * 129, "search"),
        ("search=%00", "search"),
        ("page=1&page=1", "page"),
        ("limit=5&limit=6", "limit"),
        ("search=a&search=b", "search"),
        ("page=1&limit=10&search=a&search=a", "search"),
    ],
)
def test_invalid_parameters_are_400(
    gateway: Gateway, new_org: OrgFactory, query: str, mentions: str
) -> None:
    org = new_org()
    body = error_envelope(gateway.get(f"{LIST}?{query}", org.token), 400)
    assert body["message"] == "Invalid request"
    assert mentions in body["errorMessage"]


def test_the_service_message_reaches_the_client(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org()
    body = error_envelope(gateway.get(f"{LIST}?limit=101", org.token), 400)
    assert body["errorMessage"] == "limit must be an integer from 1 to 100, got 101"


def test_search_of_exactly_128_characters_is_accepted(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    org = new_org(entries=1)
    assert gateway.get(f"{LIST}?search={'x' * 128}", org.token).status == 200


# --- routing -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/api/dnc", "/api/dnc/list/1", "/api/dnc/LIST", "/x?y=1"])
def test_unknown_paths_are_404(gateway: Gateway, path: str) -> None:
    reply = gateway.request(path)
    body = error_envelope(reply, 404)
    assert body["message"] == "Not found"
    assert reply.headers["Server"] == "dnc-gateway"  # no Python/aiohttp versions


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_wrong_method_is_405_with_allow(gateway: Gateway, method: str) -> None:
    reply = gateway.request(LIST, method=method)
    body = error_envelope(reply, 405)
    assert body["message"] == "Method not allowed"
    assert reply.headers["Allow"] == "GET"
    assert "Access-Control-Allow-Origin" not in reply.headers  # CORS is off by default


# --- request ids and deadlines ---------------------------------------------------------------


def test_request_id_round_trip(
    gateway: Gateway, grpc_service: Service, new_org: OrgFactory
) -> None:
    org = new_org(entries=1)
    request_id = f"test-{ObjectId()}"
    reply = gateway.get(LIST, org.token, X_Request_Id=request_id)
    assert reply.status == 200
    assert reply.headers["X-Request-Id"] == request_id
    assert gateway.get("/nope", X_Request_Id=request_id).headers["X-Request-Id"] == request_id
    # The service logged the same id: the gateway forwarded it as x-request-id metadata.
    wait_until(
        lambda: any(
            line.get("request_id") == request_id for line in grpc_service.process.json_lines()
        ),
        timeout=10,
    )


@pytest.mark.parametrize("sent", [None, "", "x" * 129, "has space", "\u00e9t\u00e9"])
def test_request_id_is_generated_when_absent_or_unsafe(gateway: Gateway, sent: str | None) -> None:
    headers = {} if sent is None else {"X-Request-Id": sent}
    returned = gateway.request("/healthz", headers=headers).headers["X-Request-Id"]
    assert returned != sent
    assert len(returned) == 36
    assert returned.count("-") == 4


def test_tiny_grpc_timeout_is_a_clean_504(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org(entries=1)
    reply = gateway.get(LIST, org.token, Grpc_Timeout="1n")
    body = error_envelope(reply, 504)
    assert body["message"] == "Gateway timeout"


def test_a_generous_grpc_timeout_succeeds(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org(entries=1)
    assert gateway.get(LIST, org.token, Grpc_Timeout="30S").status == 200


def test_malformed_grpc_timeout_is_400(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org(entries=1)
    body = error_envelope(gateway.get(LIST, org.token, Grpc_Timeout="soon"), 400)
    assert "Grpc-Timeout" in body["errorMessage"]


def test_healthz_serving(gateway: Gateway) -> None:
    reply = gateway.request("/healthz")
    assert reply.status == 200
    assert reply.json()["status"] == "SERVING"


def test_openapi_is_served(gateway: Gateway) -> None:
    document = gateway.request("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "get" in document["paths"][LIST]
