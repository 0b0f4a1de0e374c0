"""Bots' saved states and state changes written to the database off the hot path.

`Outbound` queues what a flush captured here only after the intents and cancel requests
it captured with it are published (publish first, save second). The writer keeps the
latest saved state and the latest state change per bot and writes everything queued
in one transaction per round, one round at a time:

- `write_soon()` (market data, timers) starts a background round if none runs; states
  queued while a round is in flight go in the next one, so the write never holds up a
  bar and the database sees one transaction per round whatever the rate of bars.
- `await write()` (account events before their batch is acknowledged, hand-overs, the
  periodic save, stop) returns once everything queued before the call is written, and
  raises what the database raised.

Bots whose memory market data or timers changed (`save_later`) are not even encoded on
the hot path: a round encodes each of them when it begins, once however many bars
changed it since, unless the bot has something `Outbound` has not published yet
(intents, cancel requests, or a state captured with them): a state must never count an
intent that has not left. Such a bot waits for a later round (its publish starts one).

An older state never overwrites a newer one: a round takes everything queued, a newer
state of a bot is queued (or encoded) after it and so written in the same or a later
round, a bot is not encoded while an older captured state of it is still on its way
here, and a failed round gives back only what was not queued again since. Rounds never
overlap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Set
from typing import TYPE_CHECKING

from tradewind.domain.bot_lifecycle import BotState
from tradewind.store.bots import save_strategy_states, set_bot_state
from tradewind.store.database import Database

if TYPE_CHECKING:
    from tradewind.services.strategy.host import BotHost

#: Told the error of a failed background round, and None when a round succeeds again.
ReportWrites = Callable[[Exception | None], None]
#: The ids of the bots with intents, cancel requests or captured states not yet published.
Unpublished = Callable[[], Set[str]]


def _nothing_unpublished() -> Set[str]:
    return frozenset()


class StateWriter:
    """Coalesces bots' saved states (encoded, by bot id) and state changes, and writes
    them in rounds: in the background (`write_soon`) or awaited (`write`)."""

    def __init__(
        self,
        database: Database,
        report: ReportWrites | None = None,
        unpublished: Unpublished = _nothing_unpublished,
    ) -> None:
        self._database = database
        self.report = report
        self._unpublished = unpublished
        self._states: dict[str, bytes] = {}
        self._later: dict[str, BotHost] = {}
        self._changes: dict[str, BotState] = {}
        self._round = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None
        self._failing = False

    @property
    def idle(self) -> bool:
        """Nothing queued and no round in flight."""
        return not (self._states or self._changes or self._later or self._round.locked())

    def save_later(self, host: BotHost) -> None:
        """Encode and write `host`'s state in the next round it has nothing unpublished."""
        self._later[host.bot_id] = host

    def queue(self, states: Mapping[str, bytes], changes: Mapping[str, BotState]) -> None:
        """Queue `states` and `changes`, replacing what is queued for the same bots."""
        self._states.update(states)
        self._changes.update(changes)

    def write_soon(self) -> None:
        """Write what is queued in the background, unless a background round runs (it
        takes what is queued when it finishes)."""
        if not (self._states or self._changes or self._later):
            return
        if self._background is None or self._background.done():
            self._background = asyncio.get_running_loop().create_task(
                self._write_in_background(), name="strategy-state-writer"
            )

    async def write(self) -> None:
        """Return once everything queued before the call is written (of the bots saved
        for later, those with nothing unpublished); raises what the database raised (the
        states stay queued)."""
        if not self.idle:
            await self._write_round()  # waits for a round in flight: it may hold ours

    async def close(self) -> None:
        """Wait for the background round (its failure was reported)."""
        task, self._background = self._background, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def _write_in_background(self) -> None:
        while self._states or self._changes or self._later:
            try:
                if not await self._write_round():
                    return  # only bots with unpublished work: their publish calls again
            except Exception as error:  # the next write_soon or write tries again
                self._failing = True
                if self.report is not None:
                    self.report(error)
                return
            if self._failing:
                self._failing = False
                if self.report is not None:
                    self.report(None)

    async def _write_round(self) -> bool:
        """One round; False if there was nothing it could write."""
        async with self._round:
            if self._later:
                self._encode_later()
            states, self._states = self._states, {}
            changes, self._changes = self._changes, {}
            if not (states or changes):
                return False
            try:
                async with self._database.transaction() as conn:
                    await save_strategy_states(conn, states)
                    for bot_id, state in changes.items():
                        await set_bot_state(conn, bot_id, state)
            except BaseException:
                # Back, unless queued again since (newer).
                self._states = states | self._states
                self._changes = changes | self._changes
                raise
        return True

    def _encode_later(self) -> None:
        """Encode the states of the bots saved for later that have nothing unpublished
        (no await: no hook runs in between); the others stay for a later round, and so
        does a bot whose state cannot be encoded (the error is raised)."""
        unpublished = self._unpublished()
        later = self._later
        for bot_id in [bot_id for bot_id in later if bot_id not in unpublished]:
            host = later[bot_id]
            data = host.saved_state()
            del later[bot_id]
            digest = hash(data)
            if digest != host.saved_digest:
                host.saved_digest = digest
                self._states[bot_id] = data
            host.dirty = False
