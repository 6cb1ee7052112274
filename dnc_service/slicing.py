"""CPU-heavy per-item work in slices, one long request at a time, so the event loop stays
everyone's: a 1,000-number CheckDnc of pathological strings costs 50-70 ms of pure Python.

Between slices the work yields to the loop. Yielding alone is not enough: every loop turn runs
one slice of *each* long request in progress, so with N of them a health check or another
tenant's one-number call would wait N slices per turn, and a call needs several turns. Long
requests therefore take turns (FIFO, a lock): a turn of the loop runs at most one slice of
heavy work, whatever the number of long requests. A thread would not help: `phonenumbers` is
pure Python and holds the GIL (docs/benchmarks.md, "Fairness").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from typing import TypeVar

# Items between two yields: 25 pathological numbers are ~1.5-3 ms of phones.normalize. A call
# needs several loop turns to be answered, each waiting up to one slice: with slices of 100
# a health check took ~4x longer during heavy checks (tests/integration/test_fairness.py).
SLICE_ITEMS = 25
Item = TypeVar("Item")


class Slicer:
    """Hands out the items of a request, pausing for the loop between slices of `every`; a
    request longer than one slice waits for its turn among long requests first."""

    def __init__(self, every: int = SLICE_ITEMS) -> None:
        self.every = every
        # The running loop and its turn lock, made on first use in each loop.
        self._turn: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    async def each(
        self, items: Iterable[Item], count: int
    ) -> AsyncGenerator[tuple[int, Item], None]:
        """`(index, item)` for each of the `count` items."""
        if count <= self.every:  # short: no turn to wait for, nothing to yield
            for pair in enumerate(items):
                yield pair
            return
        async with self._lock():
            for index, item in enumerate(items):
                if index and not index % self.every:
                    await asyncio.sleep(0)
                yield index, item

    def _lock(self) -> asyncio.Lock:
        """The turn lock of the running loop (tests run several loops, one after another)."""
        loop = asyncio.get_running_loop()
        if self._turn is None or self._turn[0] is not loop:
            self._turn = (loop, asyncio.Lock())
        return self._turn[1]


# The process's one slicer: every many-item request shares its turns.
SLICER = Slicer()
