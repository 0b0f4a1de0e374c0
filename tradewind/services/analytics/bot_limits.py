"""Risk acting on a bot's figures: a bot whose drawdown (`domain.bot_pnl.bot_drawdown`,
over the analytics window) or one-minute 95 % VaR (`domain.bot_pnl.MinuteReturns`, over
the same window) reaches its limit (its owner's, or the platform's ceiling:
`domain.risk_limits.bot_limits`) is paused the way its owner's pause does it — the bot's
row (state `paused`, with the reason), the audit entry (`bot.pause`, `paused_by:
risk-limits`) and the `BotCommand` to the strategy service commit together, the command
through the outbox (published right after the commit; a relay takes it if this process
dies first). A bot that is not running is left as it is.

Once per breach, as `limits.LimitGuard`: not paused again while its drawdown stays
beyond the limit (an owner who starts it again is not overruled on the next round); a
drawdown back within the limit re-arms it; an instance that starts or takes the bot over
counts a bot already beyond its limit as a new breach.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import structlog

from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.port import Bus
from tradewind.bus.topics import BOT_COMMANDS
from tradewind.domain.bot_lifecycle import BotAction, BotState, transition
from tradewind.domain.commands import BotCommand
from tradewind.domain.risk_limits import (
    ENGAGED_BY,
    Breaches,
    RiskLimits,
    bot_breach,
    bot_limits,
)
from tradewind.services.analytics.bot_series import BotSeries
from tradewind.store import audit, bots, risk_limits
from tradewind.store.database import Database
from tradewind.store.outbox import discard, enqueue_returning


class BotGuard:
    def __init__(self, database: Database, bus: Bus, log: structlog.stdlib.BoundLogger) -> None:
        self._database = database
        self._bus = bus
        self._log = log
        self._breaches = Breaches()

    def forget(self, bot_ids: Iterable[str]) -> None:
        """The bots' account moved to another instance."""
        self._breaches.forget(bot_ids)

    async def check(self, series: Sequence[BotSeries]) -> dict[str, str]:
        """Pause each bot whose current drawdown or VaR newly breaks its limit; returns
        {bot id: reason} of those paused now."""
        if not series:
            return {}
        async with self._database.read() as conn:
            own = await bots.bot_limits_of(conn, (s.bot_id for s in series))
            platform = await risk_limits.platform_limits(conn)
        if not own and platform.empty:
            self._breaches.clear()
            return {}
        none = RiskLimits()

        def reason_of(bot: BotSeries) -> str | None:
            limits = bot_limits(own.get(bot.bot_id, none), platform)
            return bot_breach(limits, bot.current_drawdown(), bot.var_95)

        reasons = self._breaches.new((s.bot_id, reason_of(s)) for s in series)
        if not reasons:
            return {}
        paused = await self._pause(reasons)
        self._breaches.acted(reasons)  # paused now, or not running
        return paused

    async def _pause(self, reasons: dict[str, str]) -> dict[str, str]:
        paused: dict[str, str] = {}
        events: list[Envelope] = []
        async with self._database.transaction() as conn:
            for bot_id, reason in sorted(reasons.items()):
                bot = await bots.get_bot(conn, bot_id)
                if bot is None or not transition(bot.state, BotAction.PAUSE).changes:
                    continue
                await bots.set_bot_state(conn, bot_id, BotState.PAUSED, paused_reason=reason)
                command = BotCommand(
                    account_id=bot.account_id,
                    bot_id=bot_id,
                    action=BotAction.PAUSE,
                    issued_by=ENGAGED_BY,
                    ts_ns=time.time_ns(),
                )
                events.append(envelope(command, bot.account_id))
                await audit.record(
                    conn,
                    "bot.pause",
                    actor_id=None,
                    target_type="bot",
                    target_id=bot_id,
                    detail={"from": "running", "to": "paused", "reason": reason,
                            "paused_by": ENGAGED_BY},
                )  # fmt: skip
                paused[bot_id] = reason
            staged = await enqueue_returning(conn, BOT_COMMANDS, events)
        for bot_id, reason in paused.items():
            self._log.warning("risk limit reached: bot paused", bot_id=bot_id, reason=reason)
        if staged:
            try:
                await self._bus.publish_batch(BOT_COMMANDS, events)
            except Exception:  # staged: a relay publishes it
                return paused
            await discard(self._database, staged)
        return paused
