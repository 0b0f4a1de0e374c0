"""Bot timers without a task per bot: one schedule, ticked by the service.

`TimerWheel` keeps every bot's next due time in one heap; the service's single timer
task calls `pop_due` every tick (~100 ms) and runs `on_timer` for the bots it returns.
So a timer fires up to one tick late, and a bot whose timer fell further behind (a long
pause of the event loop) gets one call for the missed periods. Which intervals are
accepted and when a timer is due next are the rules every host shares
(`strategies/timer_rules.py`). `schedule` replaces a bot's timer; replaced entries stay
in the heap, marked stale by the bot's generation number, and are skipped or compacted
away.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Generic, Protocol, TypeVar

from tradewind.strategies.timer_rules import next_due_ns, timer_interval_ns


class TimerOwner(Protocol):
    """What the wheel keeps on a bot: its period (0 = no timer) and a generation number
    that invalidates the bot's older heap entries."""

    timer_interval_ns: int
    timer_generation: int


OwnerT = TypeVar("OwnerT", bound=TimerOwner)


class TimerWheel(Generic[OwnerT]):
    """The due times of every bot timer (ns since the epoch of `clock`)."""

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self.clock = clock
        # (due_ns, sequence, generation, owner); the sequence keeps owners uncompared.
        self._heap: list[tuple[int, int, int, OwnerT]] = []
        self._sequence = 0
        self._live = 0

    def __len__(self) -> int:
        """Timers set (not entries in the heap)."""
        return self._live

    def schedule(self, owner: OwnerT, interval_s: float | Decimal) -> None:
        """Fire `owner` every `interval_s` seconds from now, replacing its timer; 0
        cancels it. Raises as `timer_rules.timer_interval_ns` does (an interval that is
        not a finite number of seconds >= 0 …), changing nothing."""
        interval_ns = timer_interval_ns(interval_s)
        if owner.timer_interval_ns:
            self._live -= 1
        owner.timer_generation += 1
        owner.timer_interval_ns = interval_ns
        if interval_ns:
            self._live += 1
            self._push(self.clock() + interval_ns, owner)
            if len(self._heap) > 2 * self._live + 1024:
                self._compact()

    def cancel(self, owner: OwnerT) -> None:
        """Remove `owner`'s timer, if it has one."""
        self.schedule(owner, 0)

    def pop_due(self, now_ns: int, limit: int) -> list[OwnerT]:
        """At most `limit` owners whose timer is due at `now_ns`, earliest first, each
        rescheduled by `timer_rules.next_due_ns` (one period after its due time, or
        after `now_ns` when periods were missed). The rest stay due for the next call."""
        heap: list[tuple[int, int, int, OwnerT]] = self._heap
        due: list[OwnerT] = []
        while heap and heap[0][0] <= now_ns and len(due) < limit:
            due_ns, _, generation, owner = heapq.heappop(heap)
            if generation != owner.timer_generation:
                continue  # replaced or canceled since
            self._push(next_due_ns(due_ns, owner.timer_interval_ns, now_ns), owner)
            due.append(owner)
        return due

    def _push(self, due_ns: int, owner: OwnerT) -> None:
        self._sequence += 1
        heapq.heappush(self._heap, (due_ns, self._sequence, owner.timer_generation, owner))

    def _compact(self) -> None:
        self._heap = [entry for entry in self._heap if entry[2] == entry[3].timer_generation]
        heapq.heapify(self._heap)
