"""The gateway's own limits and refusals, through the real processes: message size, duplicate
credentials, zero deadlines, and what is checked before authentication."""

from __future__ import annotations

import gzip
import http.client
import select
import socket
import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from bson import ObjectId
from pymongo.database import Database

from data_support import BASE_TIME, Document, OrgFactory, make_entry
from gateway_support import (
    Gateway,
    GatewayFactory,
    RawReply,
    Reply,
    assert_envelope,
    error_envelope,
    parse_reply,
)
from service_support import Service
from support import wait_until

LIST = "/api/dnc/list"
TRANSCRIPT_BYTES = 64 * 1024


def test_a_full_page_of_long_transcripts_passes(
    gateway: Gateway, new_org: OrgFactory, mongo_db: Database[Document]
) -> None:
    """100 entries x 64 KiB is past gRPC's 4 MiB default for a received message."""
    org_id = ObjectId()
    entries = [
        make_entry(org_id, n, BASE_TIME - timedelta(minutes=n), transcription=f"{n:05d}" * 13108)
        for n in range(100)
    ]
    assert all(len(entry["transcription"]) >= TRANSCRIPT_BYTES for entry in entries)
    try:
        org = new_org(entries=entries, org_id=org_id)
        reply = gateway.get(f"{LIST}?limit=100", org.token)
    finally:
        # FerretDB reads whole collections: 6.5 MB left behind would slow every later test.
        mongo_db.dnc_entries.delete_many({"orgId": org_id})
    assert reply.status == 200, reply.body[:300]
    page = reply.json()["data"]["dncList"]
    assert len(page) == 100
    assert [entry["transcription"] for entry in page] == [e["transcription"] for e in org.entries]


def send(gateway: Gateway, path: str, headers: list[tuple[str, str]]) -> Reply:
    """A GET with `headers` exactly as listed, repeated names included."""
    address = urlsplit(gateway.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        connection.putrequest("GET", path)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def test_two_authorization_headers_are_refused(gateway: Gateway, new_org: OrgFactory) -> None:
    """The service refuses repeated metadata; the gateway must not pick one for it."""
    org = new_org(entries=1)
    for second in (f"Bearer {org.token}", "Bearer someone-else"):
        headers = [("Authorization", f"Bearer {org.token}"), ("Authorization", second)]
        reply = send(gateway, LIST, headers)
        body = error_envelope(reply, 401)
        assert body["errorMessage"] == "more than one Authorization header"
        assert reply.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "query", ["", "?page=x", "?limit=1.5", "?page=1&page=2", "?limit=99999999999999999999"]
)
def test_without_credentials_it_is_401_before_any_validation(gateway: Gateway, query: str) -> None:
    for headers in ([], [("Authorization", "")]):
        body = error_envelope(send(gateway, LIST + query, headers), 401)
        assert "missing bearer token" in body["errorMessage"]


def test_type_errors_are_found_by_the_gateway_range_errors_by_the_service(
    gateway: Gateway, new_org: OrgFactory
) -> None:
    """With some credentials, the gateway refuses what the field's type cannot hold (without
    checking the token); bounds are the service's, after it has authenticated the caller."""
    org = new_org()
    bad_token = [("Authorization", "Bearer not.a.jwt")]  # of the form, but not valid
    good_token = [("Authorization", f"Bearer {org.token}")]
    assert send(gateway, f"{LIST}?page=x", bad_token).status == 400  # a type error
    assert send(gateway, f"{LIST}?page=0", bad_token).status == 401  # a range error: auth first
    assert send(gateway, f"{LIST}?page=0", good_token).status == 400


@pytest.mark.parametrize("timeout", ["0n", "0S", "999u", "999999n"])
def test_a_deadline_under_a_millisecond_is_504_without_a_call(
    gateway: Gateway, grpc_service: Service, new_org: OrgFactory, timeout: str
) -> None:
    org = new_org(entries=1)
    refused_id, later_id = f"zero-{timeout}-{org.org_id}", f"after-{timeout}-{org.org_id}"
    for _ in range(20):
        reply = gateway.get(LIST, org.token, Grpc_Timeout=timeout, X_Request_Id=refused_id)
        body = error_envelope(reply, 504)
        assert body["message"] == "Gateway timeout"
    assert gateway.get(LIST, org.token, X_Request_Id=later_id).status == 200
    wait_until(lambda: bool(grpc_service.process.json_lines(request_id=later_id)), timeout=10)
    assert grpc_service.process.json_lines(request_id=refused_id) == []  # never called
    assert "Traceback" not in gateway.process.log()


def test_a_one_millisecond_deadline_ends_cleanly(gateway: Gateway, new_org: OrgFactory) -> None:
    """Too short for the service, but a real call: 504 (or 200), never a traceback."""
    org = new_org(entries=1)
    for _ in range(60):
        assert gateway.get(LIST, org.token, Grpc_Timeout="1m").status in (200, 504)
    assert "Traceback" not in gateway.process.log()
    assert "ExecuteBatchError" not in gateway.process.log()


# Request bodies: encodings, time limits, and what is refused before a body is read.
CHECK = "/api/dnc/check"
# 1 MiB of zeros as one byte-aligned raw deflate segment (a full flush resets the window, so the
# segment inflates alone): repeated, it makes a gzip body of any inflated size in no time.
_ZEROS_SEGMENT = (lambda c: c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH))(
    zlib.compressobj(9, zlib.DEFLATED, -15)
)


def gzip_bomb(mebibytes: int) -> bytes:
    """A gzip member inflating to `mebibytes` MiB of zeros, about a thousandth of that sent."""
    crc = 0
    zeros = bytes(1 << 20)
    for _ in range(mebibytes):
        crc = zlib.crc32(zeros, crc)
    trailer = struct.pack("<II", crc, (mebibytes << 20) & 0xFFFFFFFF)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + _ZEROS_SEGMENT * mebibytes + b"\x03\x00" + trailer


def test_the_gzip_bomb_helper_is_a_real_gzip() -> None:
    assert gzip.decompress(gzip_bomb(3)) == bytes(3 << 20)


def post_check(gateway: Gateway, token: str, body: bytes, **headers: str) -> Reply:
    sent = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    sent.update((name.replace("_", "-"), value) for name, value in headers.items())
    return gateway.request(CHECK, "POST", headers=sent, body=body)


def test_a_compressed_body_is_415_and_never_inflated(gateway: Gateway, new_org: OrgFactory) -> None:
    """Four 256 MiB gzip bombs at once (256 KiB each on the wire): each refused 415 before a byte
    is read, and /healthz answers at once meanwhile (was: 413 after inflating, the loop blocked
    for seconds by the inflating of the unread rest)."""
    org = new_org()
    bomb = gzip_bomb(256)
    assert len(bomb) < 300 * 1024
    latencies: list[float] = []
    with ThreadPoolExecutor(max_workers=5) as pool:
        replies = [
            pool.submit(post_check, gateway, org.token, bomb, Content_Encoding="gzip")
            for _ in range(4)
        ]
        while not all(reply.done() for reply in replies):
            started = time.monotonic()
            assert gateway.health() == 200
            latencies.append(time.monotonic() - started)
        for reply in replies:
            body = error_envelope(reply.result(), 415)
            assert body["errorMessage"] == (
                "Content-Encoding 'gzip' is not accepted: send the body uncompressed (identity)."
            )
    for _ in range(3):  # and after the bombs, while any lingering drains them
        started = time.monotonic()
        assert gateway.health() == 200
        latencies.append(time.monotonic() - started)
    assert max(latencies) < 1, latencies  # (was: 5 s timeouts; < 0.1 s when the machine is idle)


@pytest.mark.parametrize("encoding", ["deflate", "br", "zstd", "GZIP", "identity, gzip", "x"])
def test_every_encoding_but_identity_is_415(
    gateway: Gateway, new_org: OrgFactory, encoding: str
) -> None:
    org = new_org()
    reply = post_check(gateway, org.token, b'{"phoneNumbers": ["+12125550100"]}',
                       Content_Encoding=encoding)  # fmt: skip
    assert "is not accepted" in error_envelope(reply, 415)["errorMessage"]


@pytest.mark.parametrize("encoding", ["identity", "Identity"])
def test_identity_is_no_encoding(gateway: Gateway, new_org: OrgFactory, encoding: str) -> None:
    org = new_org()
    reply = post_check(gateway, org.token, b'{"phoneNumbers": ["+12125550100"]}',
                       Content_Encoding=encoding)  # fmt: skip
    assert reply.status == 200, reply.body


def open_upload(gateway: Gateway, authorization: str, head_extra: bytes = b"") -> socket.socket:
    """A connection that has sent a chunked POST's head, ready for the body's chunks."""
    url = urlsplit(gateway.url)
    connection = socket.create_connection((url.hostname, url.port), timeout=10)
    connection.sendall(
        b"POST " + CHECK.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: " + authorization.encode() + b"\r\n" + head_extra
        + b"Transfer-Encoding: chunked\r\n\r\n"
    )  # fmt: skip
    return connection


def read_reply(connection: socket.socket, within: float) -> tuple[RawReply, float]:
    """The reply on `connection` (read until the head and the Content-Length body are in)."""
    started = time.monotonic()
    received = b""
    connection.settimeout(within)
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        assert chunk, received
        received += chunk
    reply = parse_reply(received)
    while len(reply.body) < int(reply.headers["content-length"]):
        reply.body += connection.recv(65536)
    return reply, time.monotonic() - started


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@pytest.fixture
def slow_body_gateway(gateway_factory: GatewayFactory, grpc_service: Service) -> Gateway:
    return gateway_factory(
        grpc_service.target,
        DNC_GATEWAY_BODY_IDLE_SECONDS="1",
        DNC_GATEWAY_BODY_TIMEOUT_SECONDS="2",
    )


def test_a_body_that_stops_is_408_after_the_idle_limit(
    slow_body_gateway: Gateway, new_org: OrgFactory
) -> None:
    """Was: the connection stayed open for as long as the client liked (95 s seen)."""
    org = new_org()
    started = time.monotonic()
    with open_upload(slow_body_gateway, f"Bearer {org.token}") as connection:
        connection.sendall(chunk(b'{"phoneNumbers": '))
        reply, elapsed = read_reply(connection, within=10)
        assert connection.recv(1) == b""  # closed, after at most the lingering time
        closed = time.monotonic()
    assert 0.9 < elapsed < 3
    assert closed - started < elapsed + 4  # the 2 s lingering, and a busy machine
    body = assert_envelope(reply, 408)
    assert body["errorMessage"] == "The request body sent no byte for 1 seconds."
    assert reply.headers["connection"] == "close"


def test_a_trickled_body_is_408_after_the_body_timeout(
    slow_body_gateway: Gateway, new_org: OrgFactory
) -> None:
    """A byte every 0.25 s never idles for 1 s, but the whole body must be in within 2 s."""
    org = new_org()
    received = b""
    with open_upload(slow_body_gateway, f"Bearer {org.token}") as connection:
        started = time.monotonic()
        for _ in range(40):  # at most 10 s of trickling
            if select.select([connection], [], [], 0.25)[0]:
                received = connection.recv(65536)
                break
            connection.sendall(chunk(b" "))
        elapsed = time.monotonic() - started
    assert 1.9 < elapsed < 5
    body = assert_envelope(parse_reply(received), 408)
    assert body["errorMessage"] == "The request body did not arrive whole within 2 seconds."


@pytest.mark.parametrize(
    "authorization", ["Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer a.b.c.d", "Bearer a b.c"]
)
def test_a_malformed_authorization_is_401_before_the_body_is_read(
    gateway: Gateway, authorization: str
) -> None:
    """The service would refuse the call: no body is waited for (was: the body read first)."""
    with open_upload(gateway, authorization) as connection:  # and no body ever sent
        reply, elapsed = read_reply(connection, within=5)
    assert elapsed < 3
    body = assert_envelope(reply, 401)
    assert body["errorMessage"] == "malformed authorization: expected 'Bearer <jwt>'"
    assert reply.headers["www-authenticate"] == "Bearer"


def test_connections_past_the_cap_get_503_until_one_closes(
    gateway_factory: GatewayFactory, grpc_service: Service
) -> None:
    gateway = gateway_factory(grpc_service.target, DNC_GATEWAY_MAX_CONNECTIONS="2")
    url = urlsplit(gateway.url)
    held = [http.client.HTTPConnection(url.hostname or "", url.port, timeout=10) for _ in "ab"]
    try:
        for connection in held:  # kept alive, idle
            connection.request("GET", "/healthz")
            assert connection.getresponse().read()
        reply = gateway.request("/healthz")
        assert error_envelope(reply, 503)
        assert reply.headers["Retry-After"] == "1"
        assert reply.headers["Connection"] == "close"
        assert gateway.metrics()[("dnc_gateway_connections_refused_total", ())] == 1
        # (/metrics has a listener of its own: the two held connections only, once the refused
        # one is closed)
        wait_until(lambda: gateway.metrics()[("dnc_gateway_open_connections", ())] == 2)
        held.pop().close()
        wait_until(lambda: gateway.health() == 200, timeout=5)
    finally:
        for connection in held:
            connection.close()
    assert "refused a connection over the limit of 2 open connections" in gateway.process.log()


def expect_continue(
    gateway: Gateway, authorization: str, *extra: bytes
) -> tuple[bytes, socket.socket]:
    """Send a JSON POST's head with `Expect: 100-continue`; what came back within 2 s."""
    url = urlsplit(gateway.url)
    connection = socket.create_connection((url.hostname, url.port), timeout=10)
    body = b'{"phoneNumbers": ["+12125550100"]}'
    connection.sendall(
        b"POST " + CHECK.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: " + authorization.encode() + b"\r\nExpect: 100-continue\r\n"
        + b"".join(extra) + b"Content-Length: %d\r\n\r\n" % len(body)
    )  # fmt: skip
    ready = select.select([connection], [], [], 2)[0]
    return (connection.recv(65536) if ready else b""), connection


@pytest.mark.parametrize(
    ("authorization", "extra", "status"),
    [
        ("Bearer not-a-jwt", b"", 401),
        ("Bearer {}", b"Content-Encoding: gzip\r\n", 415),
    ],
)
def test_a_refused_head_gets_its_answer_instead_of_100_continue(
    gateway: Gateway, new_org: OrgFactory, authorization: str, extra: bytes, status: int
) -> None:
    """curl asks before sending a body over 1 KiB: a refusal saves the whole upload."""
    org = new_org()
    received, connection = expect_continue(gateway, authorization.format(org.token), extra)
    with connection:
        assert not received.startswith(b"HTTP/1.1 100"), received
        assert assert_envelope(parse_reply(received), status)


def test_an_acceptable_head_gets_100_continue(gateway: Gateway, new_org: OrgFactory) -> None:
    org = new_org()
    received, connection = expect_continue(gateway, f"Bearer {org.token}")
    with connection:
        assert received == b"HTTP/1.1 100 Continue\r\n\r\n"
        connection.sendall(b'{"phoneNumbers": ["+12125550100"]}')
        reply, _ = read_reply(connection, within=10)
    assert reply.status == 200
