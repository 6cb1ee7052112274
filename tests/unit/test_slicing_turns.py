"""The slicer: where a long request yields to the loop, that long requests take turns, and that
a request of at most one slice neither waits for a turn nor yields."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from dnc_service.slicing import SLICE_ITEMS, SLICER, Slicer

T = TypeVar("T")


def run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(asyncio.wait_for(make(), timeout=5))


async def consume(slicer: Slicer, name: str, count: int, log: list[object]) -> None:
    async for index, item in slicer.each([f"{name}{i}" for i in range(count)], count):
        assert item == f"{name}{index}"
        log.append(item)


async def with_ticker(slicer: Slicer, count: int, every_turn: list[object]) -> None:
    """Consume `count` items while another task logs "turn" each time the loop gets a turn."""
    stop = False

    async def ticker() -> None:
        while not stop:
            every_turn.append("turn")
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await consume(slicer, "", count, every_turn)
    stop = True
    await task


def test_the_default_slice_is_25_items() -> None:
    assert SLICE_ITEMS == 25
    assert Slicer().every == 25
    assert SLICER.every == 25


def test_a_long_request_yields_between_slices_only() -> None:
    log: list[object] = []
    run(lambda: with_ticker(Slicer(every=3), 8, log))
    assert log == ["0", "1", "2", "turn", "3", "4", "5", "turn", "6", "7"]


def test_a_request_of_one_slice_never_yields() -> None:
    log: list[object] = []
    run(lambda: with_ticker(Slicer(every=3), 3, log))
    assert log == ["0", "1", "2"]


def test_every_index_and_item_is_handed_out_in_order() -> None:
    async def pairs(count: int) -> list[tuple[int, str]]:
        slicer = Slicer(every=2)
        return [pair async for pair in slicer.each(iter("abcde"[:count]), count)]

    assert run(lambda: pairs(5)) == list(enumerate("abcde"))
    assert run(lambda: pairs(2)) == list(enumerate("ab"))


def test_long_requests_take_turns_in_arrival_order() -> None:
    async def two_long() -> list[object]:
        slicer, log = Slicer(every=2), list[object]()
        await asyncio.gather(consume(slicer, "a", 5, log), consume(slicer, "b", 5, log))
        return log

    assert run(two_long) == ["a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2", "b3", "b4"]


def test_a_request_of_one_slice_does_not_wait_for_the_turn() -> None:
    async def while_a_long_request_holds_the_turn() -> list[object]:
        slicer, log = Slicer(every=3), list[object]()
        async with slicer._lock():
            await consume(slicer, "s", 3, log)
        return log

    assert run(while_a_long_request_holds_the_turn) == ["s0", "s1", "s2"]


def test_a_request_longer_than_one_slice_waits_for_the_turn() -> None:
    async def while_the_turn_is_held() -> bool:
        slicer = Slicer(every=3)
        async with slicer._lock():
            waiting = asyncio.create_task(consume(slicer, "l", 4, []))
            await asyncio.sleep(0.01)
            waited = not waiting.done()
        await waiting
        return waited

    assert run(while_the_turn_is_held)


def test_the_turn_lock_is_one_per_running_loop() -> None:
    slicer = Slicer()

    async def two_locks() -> tuple[asyncio.Lock, asyncio.Lock]:
        return slicer._lock(), slicer._lock()

    first, again = run(two_locks)
    assert first is again
    other, _ = run(two_locks)
    assert other is not first
