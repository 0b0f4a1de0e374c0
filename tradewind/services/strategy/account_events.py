"""Applying the account topics' events to the hosted bots: portfolio updates to the
account views, and `orders.events` to the bot that placed the order.

An event is applied to the host's view first (balances, open orders) and only then
handed to the strategy, as the strategy API promises; how each event changes the bot's
open orders, and which rejections reach the strategy, are the rules the backtest follows
too (`strategies/open_orders.py`). A paused bot's fills and
rejections are kept (`BotHost.defer`) and handed over when it resumes; a fill of an
order no hosted bot placed (a manual order, a stopped bot's) still moves the account's
balances but reaches no strategy. A fill applied once already (same symbol and trade
id) is dropped, so a repeated fill never reaches a strategy twice.
"""

from __future__ import annotations

from tradewind.domain.events import (
    Fill,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    PortfolioUpdate,
)
from tradewind.services.strategy.hooks import HookRunner
from tradewind.services.strategy.host import BotHost
from tradewind.services.strategy.roster import BotRoster


class AccountEvents:
    """Applies portfolio updates to the account views and `orders.events` to the bot that
    placed the order (the view first, then the strategy; a paused bot's are kept)."""

    def __init__(self, roster: BotRoster, hooks: HookRunner) -> None:
        self._roster = roster
        self._hooks = hooks

    def portfolio(self, update: PortfolioUpdate) -> None:
        account = self._roster.accounts.get(update.account_id)
        if account is not None:
            account.apply_portfolio(update.balances, update.ts_ns)

    def fill(self, fill: Fill) -> None:
        account = self._roster.accounts.get(fill.account_id)
        if account is None or not account.apply_fill(fill):
            return  # not hosted here, or this trade was applied already
        host = self._find(fill.client_order_id)
        if host is None:
            return
        if host.orders.apply_fill(fill):
            self._closed(host, fill.client_order_id)
        else:
            account.orders_changed()  # a partial fill locks less
        if host.running:
            self._hooks.fill(host, fill)
        else:
            host.defer(fill)

    def rejected(self, rejected: OrderRejected) -> None:
        host = self._find(rejected.client_order_id)
        if host is None or host.orders.apply_rejection(rejected) is None:
            return  # not ours, or finished already: a repeated or late rejection
        self._closed(host, rejected.client_order_id)
        if host.running:
            self._hooks.rejected(host, rejected)
        else:
            host.defer(rejected)

    def finished(self, event: OrderFilled | OrderCanceled | OrderExpired) -> None:
        """The order is no longer open (its fills arrive, or arrived, as `Fill`s)."""
        host = self._find(event.client_order_id)
        if host is not None and host.orders.close(event.client_order_id) is not None:
            self._closed(host, event.client_order_id)

    def _find(self, client_order_id: str) -> BotHost | None:
        host = self._roster.routes.find(client_order_id)
        return host if host is not None and self._roster.hosts_the(host) else None

    def _closed(self, host: BotHost, client_order_id: str) -> None:
        """The order left `host`'s book: keep its route for late events, unlock its
        funds, save the bot."""
        self._roster.routes.close(client_order_id)
        host.account.orders_changed()
        host.save_soon()
