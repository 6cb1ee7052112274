"""Rows written by other systems, old and new, render without failing the page."""

from __future__ import annotations

from datetime import datetime, timedelta

import bson
from bson import Int64, ObjectId
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo.database import Database

from data_support import BASE_TIME, Document, OrgFactory, make_entry
from dnc.v1 import dnc_pb2, dnc_pb2_grpc


def test_messy_rows_render(stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory) -> None:
    at = [BASE_TIME - timedelta(minutes=n) for n in range(8)]
    org = new_org(
        entries=[
            {"phoneNumber": Int64(12125550100), "createdAt": at[0]},
            {"phoneNumber": 12125550101.0, "createdAt": at[1]},
            # FerretDB v1 has no Decimal128 (unit-tested in tests/unit/test_documents.py).
            {"phoneNumber": Int64(12125550102), "createdAt": at[2]},
            {"phoneNumber": "12125550103", "createdAt": at[3], "type": None, "batchId": None},
            {
                "phoneNumber": "12125550104",
                "createdAt": at[4],
                "batchId": "legacy-batch",
                "type": 7,
            },
            {"phoneNumber": "12125550105", "createdAt": datetime(2025, 5, 15, 10, 25, 0, 123456)},
            {"phoneNumber": "12125550106", "createdAt": at[6], "transcription": {"nested": True}},
            {"phoneNumber": None, "createdAt": at[7]},
        ]
    )
    response = stub.ListDnc(dnc_pb2.ListDncRequest(limit=20), metadata=org.metadata, timeout=10)
    entries = list(response.dnc_list)
    assert [e.phone_number for e in entries[:7]] == [f"1212555010{n}" for n in range(7)]
    assert all(e.org_id == str(org.org_id) and len(e.id) == 24 for e in entries)
    # Absent or null optional fields stay absent.
    assert not entries[3].HasField("type")
    assert not entries[3].HasField("batch_id")
    assert not entries[0].HasField("request_uuid")
    assert not entries[0].HasField("call_recording")
    assert (entries[4].batch_id, entries[4].type) == ("legacy-batch", "7")
    # A naive datetime is stored and read as UTC, milliseconds kept.
    assert entries[5].created_at.ToJsonString() == "2025-05-15T10:25:00.123Z"
    assert not entries[6].HasField("transcription")
    assert not entries[7].HasField("phone_number")
    assert response.pagination.total == 8


def test_entry_without_created_at_sorts_last(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org_id = ObjectId()
    org = new_org(
        org_id=org_id,
        entries=[{"phoneNumber": "1"}, {"phoneNumber": "2", "createdAt": BASE_TIME}],
    )
    entries = list(
        stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=org.metadata, timeout=10).dnc_list
    )
    assert [e.phone_number for e in entries] == ["2", "1"]
    assert not entries[1].HasField("created_at")


def test_stored_strings_with_invalid_utf8_render_replaced(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    """Other systems may write bytes that are not UTF-8 (pymongo itself never would): the page
    renders them with U+FFFD instead of failing. MongoDB keeps such bytes and the service's
    client replaces them; FerretDB replaces them itself on insert, so against FerretDB this
    shows only the outcome (tests/unit/test_store_documents.py decodes the raw bytes)."""
    org = new_org()
    entry = make_entry(org.org_id, 1, BASE_TIME, type="PLACEHOLDER", transcription="ok")
    raw = bytearray(bson.encode(entry))
    at = raw.index(b"PLACEHOLDER")
    raw[at : at + len("PLACEHOLDER")] = b"bad \xff\xfe type"  # same length, so still valid BSON
    mongo_db.dnc_entries.insert_one(RawBSONDocument(bytes(raw)))
    replacing: CodecOptions[Document] = CodecOptions(
        tz_aware=True, unicode_decode_error_handler="replace"
    )
    stored = mongo_db.dnc_entries.with_options(codec_options=replacing).find_one(
        {"_id": entry["_id"]}
    )
    assert stored is not None
    assert stored["type"] == "bad \ufffd\ufffd type"
    [rendered] = stub.ListDnc(dnc_pb2.ListDncRequest(), metadata=org.metadata, timeout=10).dnc_list
    assert rendered.type == "bad \ufffd\ufffd type"
    assert rendered.transcription == "ok"
