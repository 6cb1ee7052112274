"""ScrubDnc through the real service: one response per message, in order, at any length, with
flow control, cancellation, deadlines and CheckDnc's answers."""

from __future__ import annotations

import collections
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import grpc
import pytest
from pymongo.database import Database

from data_support import BASE_TIME, Document, Org, OrgFactory
from dnc.v1 import dnc_pb2, dnc_pb2_grpc
from management_support import rss_bytes, scrub, scrub_requests
from service_support import Service, service_env, start_service
from support import grpcurl

LOOKUPS = ("dnc_scrub_lookups_total", ())


def campaign(messages: int, size: int = 1000) -> list[list[str]]:
    """`messages` chunks of distinct numbers, every 7th punctuated, every 101st unparseable."""
    chunks = []
    for m in range(messages):
        chunk = []
        for n in range(size):
            digits = f"1646{m:03d}{n:04d}"
            if n % 101 == 100:
                chunk.append("911")
            elif n % 7 == 0:
                chunk.append(f"+1 ({digits[1:4]}) {digits[4:7]}-{digits[7:]}")
            else:
                chunk.append(digits)
        chunks.append(chunk)
    return chunks


def seeded_list(new_org: OrgFactory, numbers: list[str]) -> tuple[Org, set[str]]:
    org = new_org(
        entries=[
            {"phoneNumber": n, "phoneE164": f"+{n}", "type": "scrubbed", "createdAt": BASE_TIME}
            for n in numbers
        ]
    )
    return org, {f"+{n}" for n in numbers}


def settled(read: Callable[[], float], interval: float = 0.5) -> float:
    """`read()` once two reads `interval` apart agree: what it counts stopped moving (waiting
    for the other side to stop, not for a clock)."""
    last = read()
    for _ in range(int(20 / interval)):
        time.sleep(interval)
        now = read()
        if now == last:
            return now
        last = now
    raise AssertionError(f"still moving after 20 s: {last}")


def test_every_message_is_answered_in_order_over_many_chunks(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    chunks = campaign(30)
    # Every 13th parseable number of the campaign is on the list (1,000 entries, a real list).
    listed_digits = [
        f"1646{m:03d}{n:04d}" for m in range(30) for n in range(0, 1000, 13) if n % 101 != 100
    ][:1000]
    org, listed = seeded_list(new_org, listed_digits)
    responses = scrub(stub, org.metadata, chunks)
    assert len(responses) == len(chunks)
    for chunk, response in zip(chunks, responses, strict=True):
        assert [result.input for result in response.results] == chunk
        for raw, result in zip(chunk, response.results, strict=True):
            if raw == "911":
                assert (result.listed, result.phone_e164) == (False, "")
                assert result.error
            else:
                digits = "".join(c for c in raw if c.isdigit())
                assert result.phone_e164 == f"+{digits}"
                assert result.listed == (result.phone_e164 in listed)
                assert (result.type == "scrubbed") == result.listed
    assert sum(r.listed for response in responses for r in response.results) == len(listed)


def test_another_organizations_list_is_never_seen(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    owner, _ = seeded_list(new_org, ["16465550001"])
    other = new_org()
    [mine] = scrub(stub, owner.metadata, [["16465550001"]])
    [theirs] = scrub(stub, other.metadata, [["16465550001"]])
    assert (mine.results[0].listed, theirs.results[0].listed) == (True, False)


def test_a_region_reads_national_numbers(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org, _ = seeded_list(new_org, ["12125550700"])
    [response] = scrub(stub, org.metadata, [["(212) 555-0700", "+44 20 7946 0700"]], "US")
    assert [r.phone_e164 for r in response.results] == ["+12125550700", "+442079460700"]
    assert [r.listed for r in response.results] == [True, False]
    [without] = scrub(stub, org.metadata, [["(212) 555-0700"]])
    assert without.results[0].error
    assert not without.results[0].listed


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (dnc_pb2.ScrubDncRequest(), "phone_numbers"),
        (dnc_pb2.ScrubDncRequest(phone_numbers=["12125550701"] * 1001), "phone_numbers"),
        (dnc_pb2.ScrubDncRequest(phone_numbers=["12125550701"], region="ZZ"), "region"),
        (dnc_pb2.ScrubDncRequest(phone_numbers=["12125550701"], region="USA"), "region"),
    ],
)
def test_a_bad_message_ends_the_stream_after_the_answers_before_it(
    stub: dnc_pb2_grpc.DncServiceStub,
    new_org: OrgFactory,
    bad: dnc_pb2.ScrubDncRequest,
    field: str,
) -> None:
    org = new_org()
    good = dnc_pb2.ScrubDncRequest(phone_numbers=["12125550701"])
    responses = open_scrub(stub, [good, good, bad, good], org.metadata, 10)
    answered = [next(responses), next(responses)]
    assert [len(response.results) for response in answered] == [1, 1]
    with pytest.raises(grpc.RpcError) as raised:
        next(responses)
    error = raised.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (error.details() or "")


def test_an_empty_stream_gets_no_answer(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    assert scrub(stub, new_org().metadata, []) == []


def test_scrub_needs_a_token(stub: dnc_pb2_grpc.DncServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        list(stub.ScrubDnc(scrub_requests([["12125550702"]]), timeout=10))
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


def open_scrub(
    stub: dnc_pb2_grpc.DncServiceStub,
    requests: Iterable[dnc_pb2.ScrubDncRequest],
    metadata: tuple[tuple[str, str], ...],
    timeout: float,
) -> Any:
    """The call: an iterator of responses and a grpc.Call (grpc's stubs type it as neither)."""
    return stub.ScrubDnc(iter(requests), metadata=metadata, timeout=timeout)


class Sender:
    """An endless campaign that counts the messages gRPC took from it."""

    def __init__(self, limit: int) -> None:
        self.sent = 0
        self._limit = limit
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[dnc_pb2.ScrubDncRequest]:
        for m in range(self._limit):
            with self._lock:
                self.sent += 1
            yield dnc_pb2.ScrubDncRequest(
                phone_numbers=[f"1718{m % 1000:03d}{n:04d}" for n in range(1000)]
            )


def test_a_slow_reader_holds_the_sender_back_with_memory_flat(
    grpc_service: Service, stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org()
    sender = Sender(limit=3000)
    rss_before = rss_bytes(grpc_service.process.popen.pid)
    responses = open_scrub(stub, sender, org.metadata, 120)
    for _ in range(3):
        next(responses)
    held = settled(lambda: float(sender.sent))
    rss_held = rss_bytes(grpc_service.process.popen.pid)
    # Only what HTTP/2's windows (both ways, grown by BDP probing to a few MB: ~470 messages
    # measured) and the read-ahead hold: a fraction of the 3,000 an unheld sender sends.
    assert held < 1000, held
    # Then reading lets it go on (200 more: each is a 1,000-number lookup, slow on the suite's
    # FerretDB; 500 outlasted the stream's deadline in a full run).
    read = 3 + sum(1 for _ in itertools.islice(responses, 200))
    assert read == 203
    assert sender.sent < read + 1000
    assert rss_held - rss_before < 20 * 2**20
    responses.cancel()


def test_a_client_that_goes_away_stops_the_queries(
    grpc_service: Service, stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org()
    before = grpc_service.metrics().get(LOOKUPS, 0.0)
    responses = open_scrub(stub, Sender(limit=100_000), org.metadata, 120)
    for _ in range(5):
        next(responses)
    responses.cancel()
    stopped = settled(lambda: grpc_service.metrics().get(LOOKUPS, 0.0))
    assert stopped - before >= 5
    assert settled(lambda: grpc_service.metrics().get(LOOKUPS, 0.0), interval=1.0) == stopped


def test_a_client_deadline_ends_the_stream(
    stub: dnc_pb2_grpc.DncServiceStub, new_org: OrgFactory
) -> None:
    org = new_org()
    responses = open_scrub(stub, Sender(limit=100_000), org.metadata, 1)
    with pytest.raises(grpc.RpcError) as raised:
        collections.deque(responses, maxlen=0)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_the_server_bounds_a_stream_by_its_own_limit(
    mongo_uri: str,
    mongo_db: Database[Document],
    new_org: OrgFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    org = new_org()
    env = service_env(mongo_uri, mongo_db.name, DNC_STREAM_TIMEOUT_SECONDS="1")
    log_path = tmp_path_factory.mktemp("stream-limit") / "service.log"
    with start_service(env, log_path) as service, grpc.insecure_channel(service.target) as channel:
        limited = dnc_pb2_grpc.DncServiceStub(channel)
        responses = open_scrub(limited, Sender(limit=100_000), org.metadata, 60)
        with pytest.raises(grpc.RpcError) as raised:
            collections.deque(responses, maxlen=0)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_grpcurl_streams_the_messages_of_its_input(
    grpc_service: Service, new_org: OrgFactory
) -> None:
    org, _ = seeded_list(new_org, ["12125550703"])
    messages = [
        {"phoneNumbers": ["(212) 555-0703", "+44 20 7946 0703"], "region": "US"},
        {"phoneNumbers": ["12125550704"]},
    ]
    result = grpcurl(
        "-plaintext", "-H", f"authorization: Bearer {org.token}", "-d", "@",
        grpc_service.target, "dnc.v1.DncService/ScrubDnc",
        stdin="\n".join(json.dumps(message) for message in messages),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    decoder, text, answers = json.JSONDecoder(), result.stdout.strip(), []
    while text:
        answer, end = decoder.raw_decode(text)
        answers.append(answer)
        text = text[end:].strip()
    assert [[r.get("listed", False) for r in a["results"]] for a in answers] == [
        [True, False],
        [False],
    ]
