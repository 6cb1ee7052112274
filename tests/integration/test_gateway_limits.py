"""The gateway's own limits and refusals, through the real processes: message size, duplicate
credentials, zero deadlines, and what is checked before authentication."""

from __future__ import annotations

from datetime import timedelta

from bson import ObjectId

from data_support import BASE_TIME, OrgFactory, make_entry
from gateway_support import Gateway

LIST = "/api/dnc/list"
TRANSCRIPT_BYTES = 64 * 1024


def test_a_full_page_of_long_transcripts_passes(gateway: Gateway, new_org: OrgFactory) -> None:
    """100 entries x 64 KiB is past gRPC's 4 MiB default for a received message."""
    org_id = ObjectId()
    entries = [
        make_entry(org_id, n, BASE_TIME - timedelta(minutes=n), transcription=f"{n:05d}" * 13108)
        for n in range(100)
    ]
    assert all(len(entry["transcription"]) >= TRANSCRIPT_BYTES for entry in entries)
    org = new_org(entries=entries, org_id=org_id)
    reply = gateway.get(f"{LIST}?limit=100", org.token)
    assert reply.status == 200, reply.body[:300]
    page = reply.json()["data"]["dncList"]
    assert len(page) == 100
    assert [entry["transcription"] for entry in page] == [e["transcription"] for e in org.entries]
