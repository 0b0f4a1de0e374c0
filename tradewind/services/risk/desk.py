"""The risk desk: decides intents with the pure rules (`domain.risk.check`) and keeps the
state they are decided on. No I/O: the service hands it batches and publishes what it
returns.

Idempotent under redelivery. Every intent is remembered by its client order id (derived
from account, bot and intent id) in a bounded LRU with the events it produced, and:

- decided and published: a redelivery is dropped (counted as a duplicate);
- decided but not yet published (the publish failed and the bus is retrying the batch):
  the same events are returned again, so the outcome never changes between tries (the
  rules are not re-run, which could differ: the order-rate bucket or a price moved);
- forgotten (evicted, or another instance after a rebalance): decided afresh; execution
  still places an order at most once, by the same client order id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from tradewind.bus.envelope import Envelope, envelope
from tradewind.domain.bounded import BoundedLru
from tradewind.domain.client_order_ids import client_order_id_for
from tradewind.domain.commands import BalancesRequested, OrderIntent
from tradewind.domain.events import (
    BalanceUpdate,
    Fill,
    KillSwitchChanged,
    OrderRejected,
    PortfolioUpdate,
    PositionUpdate,
    TradeTick,
)
from tradewind.domain.kill_switches import KillSwitchScope
from tradewind.domain.risk import Approved, RiskLimits, RiskState, Rule, check
from tradewind.domain.time_units import NS_PER_S
from tradewind.store.database import ns_of

if TYPE_CHECKING:
    from tradewind.services.risk.recovery import StoredAccountState

APPROVED = "approved"
REJECTED = "rejected"
_NO_RULE = "none"
#: The metrics label of a balance rejection for want of the account's balances (after a
#: start or a take-over), told apart from a real shortfall.
BALANCES_UNKNOWN = "balances_unknown"


#: How often risk asks again for the balances of an account it still knows none of (an
#: answer can fail to come: execution publishes none while fills keep moving them).
ASK_AGAIN_NS = 2 * NS_PER_S


@dataclass
class Decisions:
    """What one batch decided: intents for orders.approved; `OrderRejected` events for
    orders.rejected and orders.events; `counts` of fresh decisions by (decision, rule);
    `duplicates`, redeliveries dropped; `balance_requests`, `BalancesRequested` commands
    for accounts whose balances are not known yet (account.balances)."""

    approved: list[Envelope] = field(default_factory=list)
    rejected: list[Envelope] = field(default_factory=list)
    balance_requests: list[Envelope] = field(default_factory=list)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    duplicates: int = 0
    keys: set[str] = field(default_factory=set)


@dataclass
class _Decided:
    approved: Envelope | None
    rejected: Envelope | None
    published: bool = False


class RiskDesk:
    """Decides intents with `domain.risk.check` and keeps the state they are decided on,
    answering a redelivered intent as it did the first time. `remember` bounds the LRU."""

    def __init__(
        self, limits: RiskLimits, *, remember: int = 100_000, state: RiskState | None = None
    ) -> None:
        if remember < 1:
            raise ValueError(f"remember must be at least 1, got {remember}")
        self.limits = limits
        self.state = state or RiskState()
        self._decided: BoundedLru[str, _Decided] = BoundedLru(remember)
        self._control_ns: dict[tuple[KillSwitchScope, str], int] = {}
        self._balances_asked_ns: dict[str, int] = {}  # account -> when last asked
        self._restored: set[str] = set()  # accounts whose stored state was read

    # -- intents and account state ----------------------------------------------------

    def accounts_to_restore(self, batch: Sequence[Envelope]) -> set[str]:
        """Accounts with an intent in `batch` whose stored state was not read yet (met
        for the first time since the start, or since their partition came back)."""
        restored = self._restored
        return {
            env.payload.account_id
            for env in batch
            if isinstance(env.payload, OrderIntent) and env.payload.account_id not in restored
        }

    def restore(
        self, account_ids: Iterable[str], stored: dict[str, StoredAccountState], now_ns: int
    ) -> Decisions:
        """Take in what the system of record holds of these accounts (`stored`; those
        missing have nothing stored), where the bus has not told newer already. Returns
        `BalancesRequested` for each account whose balances came from storage: they are
        as old as its last reconciliation, and execution's answer replaces them."""
        out = Decisions()
        state = self.state
        for account_id in account_ids:
            self._restored.add(account_id)
            found = stored.get(account_id)
            if found is None:
                continue
            if found.balances and not state.knows_balances(account_id):
                for update in found.balances:
                    state.apply(update)
                self._balances_asked_ns.pop(account_id, None)
                self._ask_balances(account_id, now_ns, out)
            for instrument, quantity in found.positions.items():
                if not state.knows_position(account_id, instrument):
                    state.set_position(account_id, instrument, quantity)
            equity = found.equity
            if equity is not None:
                state.set_equity(
                    account_id,
                    equity.valuation_asset,
                    equity.equity,
                    equity.as_of_ns,
                    day_start_equity=equity.day_start_equity,
                )
        return out

    def forget_accounts(self, account_ids: Iterable[str]) -> None:
        """Let go of these accounts' state (their partition moved to a twin)."""
        gone = set(account_ids)
        self.state.forget(gone)
        self._restored -= gone
        for account_id in gone:
            self._balances_asked_ns.pop(account_id, None)

    def known_accounts(self) -> set[str]:
        """Accounts this desk holds any state of."""
        return self._restored | self.state.accounts()

    def take(self, batch: Sequence[Envelope], now_ns: int) -> Decisions:
        """Decide the batch's intents at `now_ns`, and take in its account updates
        (balances, positions, equity) in order; other events are ignored."""
        out = Decisions()
        state = self.state
        for env in batch:
            event = env.payload
            if isinstance(event, OrderIntent):
                self._decide(env, event, now_ns, out)
            elif isinstance(event, BalanceUpdate | PositionUpdate | PortfolioUpdate | Fill):
                state.apply(event)
        return out

    def published(self, decisions: Decisions) -> None:
        """Record that `decisions` reached the bus: a redelivery is now a duplicate."""
        for key in decisions.keys:
            decided = self._decided.get(key)
            if decided is not None:
                decided.published = True
                decided.approved = decided.rejected = None  # only the key is needed now

    def _decide(self, env: Envelope, intent: OrderIntent, now_ns: int, out: Decisions) -> None:
        key = client_order_id_for(intent.account_id, intent.bot_id, intent.intent_id)
        decided = self._decided.get(key)
        if decided is not None:
            self._decided.touch(key)
            if decided.published or key in out.keys:
                out.duplicates += 1
                return
        else:
            decided = self._evaluate(env, intent, key, now_ns, out)
            self._decided[key] = decided
        if decided.approved is not None:
            out.approved.append(decided.approved)
        if decided.rejected is not None:
            out.rejected.append(decided.rejected)
        out.keys.add(key)

    def _evaluate(
        self, env: Envelope, intent: OrderIntent, key: str, now_ns: int, out: Decisions
    ) -> _Decided:
        result = check(intent, self.state, self.limits, now_ns)
        if isinstance(result, Approved):
            out.counts[APPROVED, _NO_RULE] += 1
            return _Decided(envelope(intent, intent.account_id, env.trace_id), None)
        label = str(result.rule)
        if result.rule is Rule.BALANCE and not self.state.knows_balances(intent.account_id):
            self._ask_balances(intent.account_id, now_ns, out)
            label = BALANCES_UNKNOWN
        out.counts[REJECTED, label] += 1
        rejection = OrderRejected(
            account_id=intent.account_id,
            client_order_id=key,
            instrument=intent.instrument,
            ts_ns=now_ns,
            reason=result.reason,
            source="risk",
        )
        return _Decided(None, envelope(rejection, intent.account_id, env.trace_id))

    def _ask_balances(self, account_id: str, now_ns: int, out: Decisions) -> None:
        """Ask execution for the account's balances, at most every `ASK_AGAIN_NS`."""
        asked = self._balances_asked_ns.get(account_id)
        if asked is not None and now_ns - asked < ASK_AGAIN_NS:
            return
        self._balances_asked_ns[account_id] = now_ns
        request = BalancesRequested(account_id=account_id, requested_by="risk", ts_ns=now_ns)
        out.balance_requests.append(envelope(request, account_id))

    # -- market data and kill switches ------------------------------------------------

    def take_trades(self, batch: Iterable[Envelope]) -> None:
        """Last prices from md.trade; other events are ignored."""
        state = self.state
        for env in batch:
            if isinstance(env.payload, TradeTick):
                state.apply(env.payload)

    def take_controls(self, batch: Iterable[Envelope]) -> None:
        """Kill switches engaged and released; other events are ignored."""
        for env in batch:
            if isinstance(env.payload, KillSwitchChanged):
                self.apply_kill_switch(env.payload)

    def apply_kill_switch(self, change: KillSwitchChanged) -> bool:
        """Engage or release a switch; False if a later change of it is already known
        (a redelivery, or an event older than the database's state)."""
        scope, target = change.scope, change.target
        if change.ts_ns < self._control_ns.get((scope, target), -1):
            return False
        self._control_ns[scope, target] = change.ts_ns
        self.state.kill_switches.apply(change)
        return True

    def engaged_switches(self) -> list[dict[str, object]]:
        """Every engaged switch as operators read it, broadest first."""
        return [
            {
                "scope": str(s.scope),
                "target": s.halted(),
                "engaged_by": s.engaged_by,
                "reason": s.reason,
                "engaged_at_ns": s.engaged_at_ns,
            }
            for s in self.state.kill_switches.engaged()
        ]


def kill_switch_from_record(
    scope: str, target: str, reason: str, actor_id: str | None, engaged_at: datetime
) -> KillSwitchChanged:
    """A stored switch (`store.audit.KillSwitchRecord` fields) as the event that engaged it."""
    return KillSwitchChanged(
        scope=KillSwitchScope(scope),
        target=target,
        engaged=True,
        reason=reason,
        actor_id=actor_id or "unknown",
        ts_ns=ns_of(engaged_at),
    )
