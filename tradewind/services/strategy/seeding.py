"""Starting bots from what other services keep in the cache: the latest price of each
symbol (marketdata's `md:last:<venue>:<symbol>`) and each account's latest
`PortfolioUpdate` (portfolio's `portfolio:<account id>`), so a bot that starts or
restarts need not wait for the next trade or portfolio update to see prices and
balances. Newer values already known win. The cache is an optimisation: a failed read
is logged and skipped.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
import structlog

from tradewind.bus.delivery import describe
from tradewind.cache.port import Cache
from tradewind.domain.events import PortfolioUpdate
from tradewind.services.marketdata import read_last_prices
from tradewind.services.portfolio import cache_key
from tradewind.services.strategy.host import BotHost
from tradewind.services.strategy.roster import BotRoster

_portfolio = msgspec.msgpack.Decoder(PortfolioUpdate)


async def seed_from_cache(
    cache: Cache, roster: BotRoster, hosts: Iterable[BotHost], log: structlog.stdlib.BoundLogger
) -> None:
    """Give `hosts`' accounts and symbols the cached balances and prices."""
    hosts = list(hosts)
    accounts = {host.account.account_id: host.account for host in hosts}
    instruments = {
        host.account.instrument(symbol) for host in hosts for symbol in host.strategy.symbols()
    }
    try:
        prices = await read_last_prices(cache, sorted(instruments, key=lambda i: i.key))
        portfolios = await cache.get_many([cache_key(account_id) for account_id in accounts])
    except Exception as error:  # a cache outage must not keep bots from starting
        log.warning("cached prices and balances not read", error=describe(error))
        return
    for instrument, last in prices.items():
        roster.set_price(instrument.venue, instrument.symbol, last.price, last.ts_ns)
    for account, value in zip(accounts.values(), portfolios, strict=True):
        if value is None:
            continue
        try:
            update = _portfolio.decode(value)
        except msgspec.MsgspecError as error:
            log.warning(
                "cached portfolio unreadable", account_id=account.account_id, error=describe(error)
            )
            continue
        account.apply_portfolio(update.balances, update.ts_ns)
