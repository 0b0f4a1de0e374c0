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

An older state never overwrites a newer one: a round takes everything queued, a newer
state of a bot is queued after it and so written in the same or a later round, and a
failed round gives back only what was not queued again since. Rounds never overlap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from tradewind.domain.bot_lifecycle import BotState
from tradewind.store.bots import save_strategy_states, set_bot_state
from tradewind.store.database import Database

#: Told the error of a failed background round, and None when a round succeeds again.
ReportWrites = Callable[[Exception | None], None]


class StateWriter:
    """Coalesces bots' saved states (encoded, by bot id) and state changes, and writes
    them in rounds: in the background (`write_soon`) or awaited (`write`)."""

    def __init__(self, database: Database, report: ReportWrites | None = None) -> None:
        self._database = database
        self.report = report
        self._states: dict[str, bytes] = {}
        self._changes: dict[str, BotState] = {}
        self._round = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None
        self._failing = False

    @property
    def idle(self) -> bool:
        """Nothing queued and no round in flight."""
        return not (self._states or self._changes or self._round.locked())

    def queue(self, states: Mapping[str, bytes], changes: Mapping[str, BotState]) -> None:
        """Queue `states` and `changes`, replacing what is queued for the same bots."""
        self._states.update(states)
        self._changes.update(changes)

    def write_soon(self) -> None:
        """Write what is queued in the background, unless a background round runs (it
        takes what is queued when it finishes)."""
        if not (self._states or self._changes):
            return
        if self._background is None or self._background.done():
            self._background = asyncio.get_running_loop().create_task(
                self._write_in_background(), name="strategy-state-writer"
            )

    async def write(self) -> None:
        """Return once everything queued before the call is written; raises what the
        database raised (the states stay queued)."""
        if not self.idle:
            await self._write_round()  # waits for a round in flight: it may hold ours

    async def close(self) -> None:
        """Wait for the background round (its failure was reported)."""
        task, self._background = self._background, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def _write_in_background(self) -> None:
        while self._states or self._changes:
            try:
                await self._write_round()
            except Exception as error:  # the next write_soon or write tries again
                self._failing = True
                if self.report is not None:
                    self.report(error)
                return
            if self._failing:
                self._failing = False
                if self.report is not None:
                    self.report(None)

    async def _write_round(self) -> None:
        async with self._round:
            states, self._states = self._states, {}
            changes, self._changes = self._changes, {}
            if not (states or changes):
                return
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
