"""The portfolio service: every account's positions, cash, PnL and equity, from the
venues' fills and balances and the market's latest prices.

It consumes `orders.events` as consumer group `portfolio` (keyed by account, so one
instance owns an account's books): a `Fill` is booked once per trade, a `BalanceUpdate`
sets that asset's holding to the venue's (the difference booked as a transfer), and
every other event is ignored. It listens to `md.trade` (`Bus.listen`, as
`portfolio.marks`: every instance needs every price) from the latest event for the
marks: an instance knows a symbol's price from the first trade after its start (a
balance of an asset with no price yet waits for it). See `books` for what is not booked.

Revaluation is coalesced: events only mark accounts as changed, and every
`portfolio_flush_interval_s` each changed account is revalued once and, if its valuation
changed, published as a `PortfolioUpdate` on `portfolio.updates` (one `publish_batch`)
and written to the cache under `portfolio:<account id>` (one `put_many`, msgpack). Every
`portfolio_snapshot_interval_s` the accounts published since the last snapshot are
written to `portfolio_snapshots` in one transaction.

An instance keeps the books of the accounts whose partition it reads, and only those:
when a partition leaves it (a twin joined, or the group rebalanced) it forgets that
partition's accounts, and when one comes to it (a twin died) it loads their saved books
at once and publishes them. Otherwise an instance that once held an account would go on
revaluing its old books as prices move and overwrite the owner's valuation in the cache
with them; and an account that sees no event after a takeover would not be revalued at
all. An instance that reads no partition for a while (a rebalance in flight, or its
leases lapsed: another instance reads them meanwhile) forgets every account's books and
publishes nothing, and loads the saved books again when partitions come back.

An account's valuation asset comes from the account store (`valuation_asset`), else
`portfolio_valuation_asset`. The books live in memory and are saved with every batch
before it is acknowledged; an instance that meets an account (after a restart, or when
its partition moves here) loads the saved books first (see `durable`), so a restart is
invisible in the portfolios. `GET /portfolios` summarises every account's latest
valuation.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import msgspec
import structlog

from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.port import Bus, Subscription
from tradewind.bus.topics import MD_TRADE, ORDERS_EVENTS, PORTFOLIO_UPDATES
from tradewind.cache.port import Cache
from tradewind.domain.events import BalanceUpdate, Fill, PortfolioUpdate, TradeTick
from tradewind.runtime.metrics import timed_handler
from tradewind.runtime.service import AdminEndpoints, Service, ServiceContext
from tradewind.runtime.service_settings import PortfolioSettings
from tradewind.services.portfolio import durable
from tradewind.services.portfolio.books import AccountBooks
from tradewind.services.portfolio.metrics import PortfolioMetrics
from tradewind.store.accounts import get_account
from tradewind.store.database import Database
from tradewind.store.portfolio_books import load_books, save_books, saved_account_ids
from tradewind.store.portfolio_snapshots import insert_snapshot

GROUP = "portfolio"
MARKS = "portfolio.marks"  # the listener to md.trade
_SAVE_TRIES = 3


def _accounts_in(batch: Sequence[Envelope], only: set[str] | None = None) -> dict[str, str]:
    """The accounts (id -> venue) the batch's fills and balances concern."""
    found: dict[str, str] = {}
    for event in batch:
        payload = event.payload
        if isinstance(payload, Fill):
            venue = payload.instrument.venue
        elif isinstance(payload, BalanceUpdate):
            venue = payload.venue
        else:
            continue
        if only is None or payload.account_id in only:
            found.setdefault(payload.account_id, venue)
    return found


_encode = msgspec.msgpack.Encoder().encode


def cache_key(account_id: str) -> str:
    """Where the account's latest `PortfolioUpdate` is cached (msgpack)."""
    return f"portfolio:{account_id}"


@dataclass(frozen=True, slots=True)
class _Wiring:
    """What a started service uses from the runtime."""

    bus: Bus
    cache: Cache | None
    database: Database | None
    metrics: PortfolioMetrics
    valuation_asset: str


class PortfolioSummary(msgspec.Struct, frozen=True):
    """One account at `GET /portfolios`; amounts in `valuation_asset`, `ts_ns` the time
    of the valuation (ns since the epoch)."""

    account_id: str
    valuation_asset: str
    equity: Decimal
    cash: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    assets: int
    ts_ns: int


class PortfolioService(Service):
    """The portfolio service: books each account's fills and venue balances, marks them
    to the latest trades, and publishes and snapshots the changed accounts' valuations."""

    name = "portfolio"

    def __init__(self, settings: PortfolioSettings | None = None) -> None:
        """`settings` None: `ctx.settings.portfolio` at `start`."""
        self._settings = settings
        self._books = AccountBooks()
        self._latest: dict[str, PortfolioUpdate] = {}
        #: account -> the trace of its latest fill not yet in a published update
        self._traces: dict[str, str] = {}
        self._unsnapshotted: dict[str, PortfolioUpdate] = {}  # published, not snapshotted
        self._subscriptions: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._log: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(__name__)
        self._wiring: _Wiring | None = None
        self._versions: dict[str, int] = {}  # saved-books version per account held
        self._recent = durable.RecentEvents()
        self._owned: frozenset[int] = frozenset()  # the account partitions last followed
        self._ownership = asyncio.Lock()  # one change of the books' accounts at a time

    async def start(self, ctx: ServiceContext) -> None:
        settings = self._settings or ctx.settings.portfolio
        database = ctx.resources.database
        self._wiring = _Wiring(
            ctx.bus,
            ctx.resources.cache,
            database,
            PortfolioMetrics.of(ctx.metrics.registry),
            settings.portfolio_valuation_asset,
        )
        self._log = ctx.log
        self._subscriptions = [
            await ctx.bus.subscribe(
                [ORDERS_EVENTS], GROUP, timed_handler(ctx.metrics, GROUP, self._on_account_events)
            ),
            await ctx.bus.listen(
                [MD_TRADE], MARKS, timed_handler(ctx.metrics, MARKS, self._on_trades)
            ),
        ]
        self._tasks = [
            asyncio.create_task(self._every(settings.portfolio_flush_interval_s, self.flush))
        ]
        if database is not None:
            interval = settings.portfolio_snapshot_interval_s
            self._tasks.append(asyncio.create_task(self._every(interval, self.snapshot)))

    async def stop(self) -> None:
        # Together, as strategy's: one after the other they could outlast the drain.
        subscriptions, self._subscriptions = self._subscriptions, []
        await asyncio.gather(*(subscription.stop() for subscription in subscriptions))
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):  # counted where it failed
            if self._wiring is not None:  # what the drained batches changed; owned till now
                await self._publish(self._wiring)
        with contextlib.suppress(Exception):
            await self.snapshot()

    @property
    def ready(self) -> bool:
        return bool(self._subscriptions)

    @property
    def books(self) -> AccountBooks:
        """The accounts' books (read them; the service changes them)."""
        return self._books

    def summaries(self) -> list[PortfolioSummary]:
        """Every account's latest published valuation, by account id."""
        return [
            PortfolioSummary(
                account_id=u.account_id,
                valuation_asset=u.valuation_asset,
                equity=u.equity,
                cash=u.cash,
                realized_pnl=u.realized_pnl,
                unrealized_pnl=u.unrealized_pnl,
                fees=u.fees,
                assets=len(u.balances),
                ts_ns=u.ts_ns,
            )
            for _, u in sorted(self._latest.items())
        ]

    def admin_endpoints(self) -> AdminEndpoints:
        return {"/portfolios": self.summaries}

    # -- consuming ----------------------------------------------------------------------

    async def _on_account_events(self, batch: Sequence[Envelope]) -> None:
        """Apply the batch, then save the books it changed before it is acknowledged
        (see `durable`); a save that fails raises, and the batch comes again."""
        async with self._ownership:
            await self._follow_partitions()
            await self._book(batch)

    async def _book(self, batch: Sequence[Envelope]) -> None:
        assert self._wiring is not None
        await self._open_books(_accounts_in(batch), self._wiring)
        changed = self._apply(batch)
        database = self._wiring.database
        for _ in range(_SAVE_TRIES):
            if database is None or not changed:
                return
            async with database.transaction() as conn:
                conflicts = await save_books(conn, [self._save_row(a) for a in sorted(changed)])
            for account_id in changed - conflicts:
                self._versions[account_id] += 1
            if not conflicts:
                return
            # Another instance saved these accounts meanwhile: take its books, and apply
            # this batch on top (what they include already is skipped).
            self._wiring.metrics.takeovers.inc(len(conflicts))
            self._log.info(
                "portfolio books saved elsewhere meanwhile: reloaded",
                accounts=sorted(conflicts)[:10],
                versions=[self._versions.get(a) for a in sorted(conflicts)[:10]],
                partitions=sorted(self._owned),
            )
            self._forget(conflicts)
            await self._open_books(_accounts_in(batch, conflicts), self._wiring)
            changed = self._apply(batch, only=conflicts)
        raise RuntimeError(f"portfolio books of {sorted(changed)} kept changing elsewhere")

    def _apply(self, batch: Sequence[Envelope], only: set[str] | None = None) -> set[str]:
        """Apply the batch's fills and balances once each; the accounts it changed."""
        assert self._wiring is not None
        books, recent, skipped = self._books, self._recent, self._wiring.metrics.skipped
        changed: set[str] = set()
        for event in batch:
            payload = event.payload
            if not isinstance(payload, Fill | BalanceUpdate):
                continue
            account_id = payload.account_id
            if (only is not None and account_id not in only) or recent.seen(
                account_id, event.event_id
            ):
                continue
            if isinstance(payload, Fill):
                reason = books.apply_fill(payload)
                self._traces[account_id] = event.trace_id  # the next update goes on with it
            else:
                reason = books.apply_balance(payload)
            recent.add(account_id, event.event_id)
            changed.add(account_id)
            if reason is not None:
                skipped.labels(reason.value).inc()
        return changed

    def _save_row(self, account_id: str) -> tuple[str, int, bytes]:
        state, unpriced = self._books.stored(account_id)
        stored = durable.StoredAccount(state, unpriced, self._recent.of(account_id))
        return account_id, self._versions[account_id], durable.encode(stored)

    async def _on_trades(self, batch: Sequence[Envelope]) -> None:
        mark = self._books.mark
        for event in batch:
            tick = event.payload
            if isinstance(tick, TradeTick):
                mark(tick)

    async def _follow_partitions(self) -> bool:
        """Keep the books to the accounts of the partitions this instance reads now (see
        the module docstring). False while it reads none: publish nothing then."""
        wiring = self._wiring
        if wiring is None or not self._subscriptions:
            return False
        partitions = self._subscriptions[0].partitions()
        # Partitions this instance reads no more, or none at all for a while (its leases
        # lapsed, a rebalance in flight): whoever reads them meanwhile books their
        # accounts, so these books are stale from now on, and kept they would be valued
        # (and revalued as prices move) over the owner's valuations until the accounts'
        # next events. Forgotten, they are loaded again, as saved, when the partitions
        # come back.
        if not partitions:
            self._forget(list(self._books.portfolios))
            self._owned = partitions
            wiring.metrics.accounts.set(0)
            return False
        if partitions == self._owned:
            return True
        partition_of = wiring.bus.partition_of
        self._forget([a for a in self._books.portfolios if partition_of(a) not in partitions])
        gained = partitions - self._owned
        if gained and wiring.database is not None:
            async with wiring.database.read() as conn:
                held = self._books.portfolios
                arrived = [
                    a
                    for a in await saved_account_ids(conn)
                    if partition_of(a) in gained and a not in held
                ]
                saved = await load_books(conn, arrived)
            self._restore(saved)
            if saved:
                self._log.info("portfolio books taken over", accounts=len(saved))
        self._owned = partitions
        wiring.metrics.accounts.set(len(self._books.portfolios))
        return True

    def _forget(self, account_ids: Iterable[str]) -> None:
        """Drop these accounts' books and what goes with them (not their pending
        snapshots: those valuations were true when published)."""
        for account_id in account_ids:
            self._books.forget(account_id)
            self._recent.forget(account_id)
            self._versions.pop(account_id, None)
            self._latest.pop(account_id, None)
            self._traces.pop(account_id, None)

    def _restore(self, saved: dict[str, tuple[int, bytes]]) -> None:
        """Put back saved books ((version, state) by account); published at the next
        flush."""
        for account_id, (version, data) in saved.items():
            stored = durable.decode(data)
            self._books.restore(stored.books, stored.unpriced)
            self._recent.restore(account_id, stored.recent_events)
            self._versions[account_id] = version

    async def _open_books(self, accounts: dict[str, str], wiring: _Wiring) -> None:
        """Open the books of accounts (id -> venue) this instance has not met yet: their
        saved books if there are any, else new ones in their valuation asset."""
        portfolios = self._books.portfolios
        venues = {a: v for a, v in accounts.items() if a not in portfolios}
        if not venues:
            return
        assets = dict.fromkeys(venues, wiring.valuation_asset)
        if wiring.database is not None:
            async with wiring.database.read() as conn:
                saved = await load_books(conn, venues)
                self._restore(saved)
                for account_id in saved:
                    del venues[account_id]
                for account_id in venues:
                    record = await get_account(conn, account_id)
                    if record is not None and record.valuation_asset:
                        assets[account_id] = record.valuation_asset
            if saved:
                self._log.info(
                    "portfolio books restored",
                    accounts=len(saved),
                    ids=sorted(saved)[:10],
                    versions=[saved[a][0] for a in sorted(saved)[:10]],
                )
        for account_id, venue in venues.items():
            self._books.open(account_id, venue, assets[account_id])
            self._versions[account_id] = 0
        wiring.metrics.accounts.set(len(portfolios))

    # -- publishing ---------------------------------------------------------------------

    async def flush(self) -> None:
        """Revalue the changed accounts and publish those whose valuation changed."""
        wiring = self._wiring
        if wiring is None:
            return
        async with self._ownership:
            if not await self._follow_partitions():
                return
        await self._publish(wiring)

    async def _publish(self, wiring: _Wiring) -> None:
        metrics = wiring.metrics
        updates, revaluations, retried = self._books.revalue(time.time_ns())
        metrics.revaluations.inc(revaluations)
        for reason in retried:
            if reason is not None:
                metrics.skipped.labels(reason.value).inc()
        if not updates:
            return
        try:
            traces = self._traces
            await wiring.bus.publish_batch(
                PORTFOLIO_UPDATES,
                [envelope(u, u.account_id, traces.pop(u.account_id, None)) for u in updates],
            )
        except Exception:
            self._failed("bus", updates)
            raise
        metrics.updates.inc(len(updates))
        for update in updates:
            self._latest[update.account_id] = update
            self._unsnapshotted[update.account_id] = update
        if wiring.cache is not None:
            try:
                await wiring.cache.put_many({cache_key(u.account_id): _encode(u) for u in updates})
            except Exception:
                self._failed("cache", updates)
                raise

    async def snapshot(self) -> None:
        """Write the latest valuation of every account published since the last one."""
        wiring = self._wiring
        if wiring is None or wiring.database is None or not self._unsnapshotted:
            return
        pending, self._unsnapshotted = self._unsnapshotted, {}
        try:
            async with wiring.database.transaction() as conn:
                for account_id in sorted(pending):
                    await insert_snapshot(conn, pending[account_id])
        except Exception:
            self._unsnapshotted = pending | self._unsnapshotted
            wiring.metrics.flush_failures.labels("database").inc()
            raise
        wiring.metrics.snapshots.inc(len(pending))

    def _failed(self, target: str, updates: list[PortfolioUpdate]) -> None:
        assert self._wiring is not None
        self._wiring.metrics.flush_failures.labels(target).inc()
        self._books.touch(u.account_id for u in updates)

    async def _every(self, interval_s: float, work: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await work()
            except Exception as exc:  # counted by `work`; the next round retries
                self._log.warning("portfolio flush failed", error=str(exc))
