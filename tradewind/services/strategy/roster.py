"""The bots this instance hosts and the indexes that find them: by bot id, by account,
by instrument (for market data) and by client order id (for order events)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from tradewind.domain.bounded import BoundedLru
from tradewind.services.strategy.account_view import AccountView
from tradewind.services.strategy.host import BotHost
from tradewind.strategies.api import Strategy
from tradewind.venues.port import Market

#: Finished orders whose late events (a fill after the cancel) still find their bot.
KEEP_CLOSED_ROUTES = 50_000


class OrderRoutes:
    """The bot behind each order, by client order id: every open order, and the most
    recently finished ones."""

    def __init__(self, keep_closed: int = KEEP_CLOSED_ROUTES) -> None:
        self._open: dict[str, BotHost] = {}
        self._closed: BoundedLru[str, BotHost] = BoundedLru(keep_closed)

    def open(self, client_order_id: str, host: BotHost) -> None:
        self._open[client_order_id] = host

    def find(self, client_order_id: str) -> BotHost | None:
        host = self._open.get(client_order_id)
        return host if host is not None else self._closed.get(client_order_id)

    def close(self, client_order_id: str) -> None:
        """The order finished; keep its route a while for late events."""
        host = self._open.pop(client_order_id, None)
        if host is None:
            return
        self._closed[client_order_id] = host

    def forget(self, host: BotHost) -> None:
        """Drop the routes of `host`'s open orders (the bot is no longer hosted)."""
        for client_order_id in host.orders:
            if self._open.get(client_order_id) is host:
                del self._open[client_order_id]


class BotRoster:
    """Hosted bots and accounts, the venues' markets and latest prices."""

    def __init__(self) -> None:
        self.hosts: dict[str, BotHost] = {}
        self.accounts: dict[str, AccountView] = {}
        self.markets: dict[str, Mapping[str, Market]] = {}
        #: venue -> symbol -> latest price (quote per base), and its time (ns).
        self.prices: dict[str, dict[str, Decimal]] = {}
        self.price_times: dict[str, dict[str, int]] = {}
        #: instrument key (`venue:BASE/QUOTE`) -> bots whose strategy has on_bar/on_tick.
        self.bar_index: dict[str, dict[str, BotHost]] = {}
        self.tick_index: dict[str, dict[str, BotHost]] = {}
        self.routes = OrderRoutes()

    def add_venue(self, venue: str, markets: Mapping[str, Market]) -> None:
        self.markets[venue] = markets
        self.prices.setdefault(venue, {})
        self.price_times.setdefault(venue, {})

    def set_price(self, venue: str, symbol: str, price: Decimal, ts_ns: int) -> None:
        """Take `price` as `symbol`'s latest unless a newer one is known."""
        times = self.price_times.get(venue)
        if times is not None and ts_ns >= times.get(symbol, 0):
            times[symbol] = ts_ns
            self.prices[venue][symbol] = price

    def account(self, account_id: str, venue: str) -> AccountView:
        """The view of `account_id`, made on first use (its venue must be added)."""
        view = self.accounts.get(account_id)
        if view is None:
            view = AccountView(account_id, venue, self.markets[venue], self.prices[venue])
            self.accounts[account_id] = view
        return view

    def add(self, host: BotHost) -> None:
        """Host `host`: index it by account, instrument and open order."""
        self.hosts[host.bot_id] = host
        host.account.hosts.append(host)
        host.account.orders_changed()
        strategy, venue = host.strategy, host.account.venue
        for symbol in strategy.symbols():
            key = f"{venue}:{symbol}"
            if _overrides(strategy, "on_bar"):
                self.bar_index.setdefault(key, {})[host.bot_id] = host
            if _overrides(strategy, "on_tick"):
                self.tick_index.setdefault(key, {})[host.bot_id] = host
        for client_order_id in host.orders:
            self.routes.open(client_order_id, host)

    def remove(self, host: BotHost) -> None:
        """Stop hosting `host`."""
        if self.hosts.get(host.bot_id) is not host:
            return
        del self.hosts[host.bot_id]
        self.routes.forget(host)
        for symbol in host.strategy.symbols():
            key = f"{host.account.venue}:{symbol}"
            for index in (self.bar_index, self.tick_index):
                bots = index.get(key)
                if bots is not None and bots.pop(host.bot_id, None) is not None and not bots:
                    del index[key]
        # The account's view stays, with its balances, for the account's next bot.
        host.account.hosts.remove(host)
        host.account.orders_changed()

    def hosts_the(self, host: BotHost) -> bool:
        return self.hosts.get(host.bot_id) is host

    def counts(self) -> tuple[int, int]:
        """(running, paused) bots."""
        running = sum(1 for host in self.hosts.values() if host.running)
        return running, len(self.hosts) - running


def _overrides(strategy: Strategy, hook: str) -> bool:
    return getattr(type(strategy), hook) is not getattr(Strategy, hook)
