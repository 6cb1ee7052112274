"""Keyset pagination with page tokens: each entry once, stable under inserts, bound to a search."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import orjson
import pytest
from bson import ObjectId
from pymongo.database import Database

from data_support import BASE_TIME, Document, Org, OrgFactory, make_entry
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from service_support import Service, service_env, start_service

INVALID_TOKEN = "page_token is not valid: pass next_page_token as given, with the same search"
FORGED = (
    base64.urlsafe_b64encode(
        orjson.dumps({"v": True, "p": 2, "n": 1, "q": hashlib.sha256(b"").hexdigest()[:16]})
    )
    .decode()
    .rstrip("=")
)


def invalid_argument(stub: dnc_pb2_grpc.DncServiceStub, org: Org, **fields: Any) -> str:
    with pytest.raises(grpc.RpcError) as raised:
        stub.ListDnc(dnc_pb2.ListDncRequest(**fields), metadata=org.metadata, timeout=10)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return str(raised.value.details())


def walk(
    stub: dnc_pb2_grpc.DncServiceStub, org: Org, limit: int, search: str = ""
) -> list[dnc_pb2.ListDncResponse]:
    pages = [
        stub.ListDnc(
            dnc_pb2.ListDncRequest(limit=limit, search=search), metadata=org.metadata, timeout=10
        )
    ]
    while pages[-1].next_page_token:
        request = dnc_pb2.ListDncRequest(
            limit=limit, search=search, page_token=pages[-1].next_page_token
        )
        pages.append(stub.ListDnc(request, metadata=org.metadata, timeout=10))
        assert len(pages) < 50
    return pages


def ids(pages: list[dnc_pb2.ListDncResponse]) -> list[str]:
    return [entry.id for page in pages for entry in page.dnc_list]


def test_tokens_walk_every_entry_once_in_order(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org_id = ObjectId()
    docs = [make_entry(org_id, n, BASE_TIME - timedelta(minutes=n // 3)) for n in range(22)]
    docs += [
        make_entry(org_id, 90, BASE_TIME, createdAt=None),
        make_entry(org_id, 91, BASE_TIME, createdAt=None),
    ]
    org = new_org(entries=docs, org_id=org_id)
    pages = walk(stub, org, limit=5)
    assert ids(pages) == [str(e["_id"]) for e in org.entries]
    assert [p.pagination.page for p in pages] == [1, 2, 3, 4, 5]
    assert {p.pagination.total for p in pages} == {24}
    assert pages[-1].next_page_token == ""


def test_offset_pages_and_tokens_agree(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=12)
    first = stub.ListDnc(dnc_pb2.ListDncRequest(limit=4, page=2), metadata=org.metadata, timeout=10)
    by_token = stub.ListDnc(
        dnc_pb2.ListDncRequest(limit=4, page_token=first.next_page_token),
        metadata=org.metadata,
        timeout=10,
    )
    by_page = stub.ListDnc(
        dnc_pb2.ListDncRequest(limit=4, page=3), metadata=org.metadata, timeout=10
    )
    assert by_token.dnc_list == by_page.dnc_list
    assert by_token.pagination == by_page.pagination


def test_tokens_are_stable_under_inserts(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    org = new_org(entries=10)
    first = stub.ListDnc(dnc_pb2.ListDncRequest(limit=5), metadata=org.metadata, timeout=10)
    # New entries land at the top; an offset page 2 would now repeat entries of page 1.
    mongo_db.dnc_entries.insert_many(
        [make_entry(org.org_id, 100 + n, BASE_TIME + timedelta(days=1)) for n in range(3)]
    )
    second = stub.ListDnc(
        dnc_pb2.ListDncRequest(limit=5, page_token=first.next_page_token),
        metadata=org.metadata,
        timeout=10,
    )
    assert [e.id for e in second.dnc_list] == [str(e["_id"]) for e in org.entries[5:10]]


def test_tokens_follow_the_search(stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory) -> None:
    org_id = ObjectId()
    docs = [
        make_entry(
            org_id, n, BASE_TIME - timedelta(minutes=n), type="complaint" if n % 2 else "other"
        )
        for n in range(9)
    ]
    org = new_org(entries=docs, org_id=org_id)
    pages = walk(stub, org, limit=2, search="COMPLAINT")
    assert ids(pages) == [str(e["_id"]) for e in org.entries if e["type"] == "complaint"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"page_token": "not a token"}, INVALID_TOKEN),
        ({"page_token": "eyJ2IjoxfQ"}, INVALID_TOKEN),
        ({"page_token": "x" * 300}, INVALID_TOKEN),
        # A made-up token in the old unsigned format: {"v":true,"p":2,"n":1,"q":<digest of "">}.
        ({"page_token": FORGED}, INVALID_TOKEN),
    ],
)
def test_bad_tokens_are_invalid_arguments(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, fields: dict[str, str], message: str
) -> None:
    org = new_org(entries=1)
    assert invalid_argument(stub, org, **fields) == message


def test_a_token_is_bound_to_its_search_and_excludes_page(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=3)
    token = stub.ListDnc(
        dnc_pb2.ListDncRequest(limit=1), metadata=org.metadata, timeout=10
    ).next_page_token
    assert invalid_argument(stub, org, limit=1, page_token=token, search="x") == INVALID_TOKEN
    assert (
        invalid_argument(stub, org, limit=1, page_token=token, page=2)
        == "give page or page_token, not both"
    )


def test_odd_created_at_rows_fall_back_to_offsets(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org_id = ObjectId()
    docs = [make_entry(org_id, n, BASE_TIME - timedelta(minutes=n)) for n in range(3)]
    docs += [make_entry(org_id, 10 + n, BASE_TIME, createdAt=f"2020-01-0{n + 1}") for n in range(3)]
    org = new_org(entries=docs, org_id=org_id)
    pages = walk(stub, org, limit=2)
    assert ids(pages) == [str(e["_id"]) for e in org.entries]
    assert len(pages) == 3


def test_a_token_replayed_by_another_organization_is_refused(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    mine, theirs = new_org(entries=3), new_org(entries=3)
    token = stub.ListDnc(
        dnc_pb2.ListDncRequest(limit=1), metadata=mine.metadata, timeout=10
    ).next_page_token
    assert invalid_argument(stub, theirs, limit=1, page_token=token) == INVALID_TOKEN


def test_an_altered_token_is_refused(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=3)
    token = stub.ListDnc(
        dnc_pb2.ListDncRequest(limit=1), metadata=org.metadata, timeout=10
    ).next_page_token
    for position in (0, len(token) // 2, len(token) - 2):
        altered = (
            token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
        )
        assert invalid_argument(stub, org, limit=1, page_token=altered) == INVALID_TOKEN


def test_a_token_reveals_nothing_of_its_search(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=3)
    search = "1212555"
    token = stub.ListDnc(
        dnc_pb2.ListDncRequest(limit=1, search=search), metadata=org.metadata, timeout=10
    ).next_page_token
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for visible in (search.encode(), hashlib.sha256(search.encode()).hexdigest()[:16].encode()):
        assert visible not in raw
    assert b'"p"' not in raw  # the body is encrypted


def test_a_token_reused_with_another_limit_stays_consistent(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org(entries=10)
    first = stub.ListDnc(dnc_pb2.ListDncRequest(limit=3), metadata=org.metadata, timeout=10)
    wider = stub.ListDnc(
        dnc_pb2.ListDncRequest(limit=5, page_token=first.next_page_token),
        metadata=org.metadata,
        timeout=10,
    )
    assert [e.id for e in wider.dnc_list] == [str(e["_id"]) for e in org.entries[3:8]]
    assert wider.pagination.page == 2


def test_replicas_and_restarts_share_tokens_and_keys_rotate(
    tmp_path: Path, mongo_uri: str, mongo_db: Database[Document], new_org: OrgFactory
) -> None:
    """Tokens from one process work on another with the same secret, and on one whose
    DNC_PAGE_TOKEN_KEYS puts a new key first and keeps the old one; never on one without it."""
    org = new_org(entries=3)
    old, new = "11" * 32, base64.b64encode(b"n" * 32).decode()

    def first_token(service: Service) -> str:
        with grpc.insecure_channel(service.target) as channel:
            response = dnc_pb2_grpc.DncServiceStub(channel).ListDnc(
                dnc_pb2.ListDncRequest(limit=1), metadata=org.metadata, timeout=10
            )
        return response.next_page_token

    def second_page(service: Service, token: str) -> grpc.StatusCode:
        with grpc.insecure_channel(service.target) as channel:
            try:
                dnc_pb2_grpc.DncServiceStub(channel).ListDnc(
                    dnc_pb2.ListDncRequest(limit=1, page_token=token),
                    metadata=org.metadata,
                    timeout=10,
                )
            except grpc.RpcError as error:
                return error.code()
        return grpc.StatusCode.OK

    def start(name: str, **env: str) -> Service:
        return start_service(service_env(mongo_uri, mongo_db.name, **env), tmp_path / name)

    with start("a.log") as a, start("b.log") as b:
        assert second_page(b, first_token(a)) == grpc.StatusCode.OK  # derived from the secret
    with (
        start("old.log", DNC_PAGE_TOKEN_KEYS=old) as before,
        start("rotated.log", DNC_PAGE_TOKEN_KEYS=f"{new},{old}") as rotated,
        start("new.log", DNC_PAGE_TOKEN_KEYS=new) as after,
    ):
        token = first_token(before)
        assert second_page(rotated, token) == grpc.StatusCode.OK
        assert second_page(after, token) == grpc.StatusCode.INVALID_ARGUMENT
        assert second_page(before, first_token(rotated)) == grpc.StatusCode.INVALID_ARGUMENT
