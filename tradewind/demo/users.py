"""Demo users for `tradewind up --bots N`: each gets a user, an account funded on one of
the in-process simulated exchanges (the accounts alternate between them; funded in the
currencies of that exchange's market), its keys stored encrypted like any user's, and
one running bot — each exchange runs a mix of the four built-in strategies with
parameters that suit its market."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from tradewind.domain.bot_lifecycle import BotState
from tradewind.domain.time_units import NS_PER_MS
from tradewind.security.encryption import Encryptor
from tradewind.security.redaction import mask_api_key
from tradewind.store import accounts, bots, users
from tradewind.store.database import Database
from tradewind.venues.simulated.exchange import SimulatedExchange

DEMO_PASSWORD = "demo-password-not-for-production"
STRATEGY_MIX = ("dca", "grid", "momentum", "rebalance")


def demo_email(index: int) -> str:
    """The address of the demo user number `index` (their password: `DEMO_PASSWORD`)."""
    return f"demo-{index}@tradewind.local"


@dataclass(frozen=True)
class MarketView:
    """What demo bots need to know of a market: per symbol its quote asset, tick size
    and a current price."""

    symbols: dict[str, tuple[str, Decimal, Decimal]]

    @classmethod
    def of_exchange(cls, exchange: SimulatedExchange) -> MarketView:
        now_ms = exchange.clock() // NS_PER_MS
        return cls(
            {
                symbol: (
                    spec.instrument.quote,
                    spec.filters.tick_size,
                    exchange.prices.price(symbol, now_ms),
                )
                for symbol, spec in exchange.specs.items()
            }
        )


#: Opens a funded account on the venue: balances -> (api key, secret, venue account id).
Funding = Callable[[dict[str, Decimal]], Awaitable[tuple[str, str, str]]]


async def served_market_view(venue_url: str, ca_file: str | None = None) -> MarketView:
    """The `MarketView` of a served venue (`tradewind venue serve`), read through ccxt:
    every listed symbol's quote asset, tick size and mid price. `venue_url` as
    TRADEWIND_VENUE_URLS declares it: `coinbase+http://…` for one serving Coinbase's API
    (its public session paced by ccxt at Coinbase's limits, as the services' are)."""
    from tradewind.venues.directory import CcxtVenues

    venue = CcxtVenues({"venue": venue_url}, ca_file=ca_file).public("venue")
    try:
        symbols: dict[str, tuple[str, Decimal, Decimal]] = {}
        for symbol, market in (await venue.load_markets()).items():
            book = await venue.fetch_order_book(symbol, 5)
            mid = (book.bids[0][0] + book.asks[0][0]) / 2
            symbols[symbol] = (market.quote, market.tick_size, mid)
        return MarketView(symbols)
    finally:
        await venue.close()


@dataclass(frozen=True)
class DemoVenue:
    """A venue demo accounts are opened on: its name on the platform (`venue` of the
    accounts), its market, and its faucet."""

    name: str
    market: MarketView
    fund: Funding


@dataclass(frozen=True)
class DemoAccount:
    user_id: str
    account_id: str  # the platform's id of the exchange account
    venue_account_id: str  # the simulated exchange's own id of it
    bot_id: str
    strategy: str
    venue: str = "sim"  # the platform's name of the venue the account is on


def funding_for(market: MarketView) -> tuple[str, dict[str, Decimal]]:
    """The valuation asset and starting balances for the market being run: 1 BTC on
    BTC-quoted markets (the 2018 replay), else 10,000 of its quote asset: USDT where it
    lists USDT pairs, the first quote by name otherwise (USD on the Coinbase-style
    exchange of USD and USDC pairs)."""
    quotes = {quote for quote, _, _ in market.symbols.values()}
    if quotes == {"BTC"}:
        return "BTC", {"BTC": Decimal(1)}
    quote = "USDT" if "USDT" in quotes else sorted(quotes)[0]
    return quote, {quote: Decimal(10_000)}


def bot_params(
    strategy: str, market: MarketView, quote: str, budget: Decimal, index: int
) -> dict[str, Any]:
    """Parameters for demo bot number `index`: symbols rotate through the market; sizes
    are fractions of the account's budget; schedules are short so a minute shows trades."""
    symbols = sorted(s for s, (q, _, _) in market.symbols.items() if q == quote)
    symbol = symbols[index % len(symbols)]
    _, tick, price = market.symbols[symbol]
    if strategy == "dca":
        return {"symbol": symbol, "quote_amount": str(budget / 200), "interval_s": 5}
    if strategy == "grid":
        lower = (price * Decimal("0.97") / tick).to_integral_value(ROUND_DOWN) * tick
        upper = (price * Decimal("1.03") / tick).to_integral_value(ROUND_DOWN) * tick
        return {
            "symbol": symbol,
            "lower": str(lower),
            "upper": str(upper),
            "order_value": str(budget / 50),
            "levels": 10,
        }
    if strategy == "momentum":
        return {"symbol": symbol, "fast": 3, "slow": 8, "buy_fraction": "0.2"}
    basket = [symbols[(index + k) % len(symbols)] for k in range(min(4, len(symbols)))]
    weight = (Decimal("0.8") / len(basket)).quantize(Decimal("0.0001"), ROUND_DOWN)
    return {
        "basket": basket,
        "quote": quote,
        "weighting": "fixed",
        "weights": {s: str(weight) for s in basket},
        "rebalance_interval_s": 30,
        "drift_threshold": "0.02",
        "min_trade_value": str(budget / 500),
    }


async def create_demo_accounts(
    db: Database,
    encryptor: Encryptor,
    market: MarketView,
    fund: Funding,
    count: int,
    password_hash: str,
    *,
    venue: str = "sim",
) -> list[DemoAccount]:
    """Create `count` demo users, each with an account `fund` opened on `venue` and a
    running bot."""
    return await create_demo_accounts_across(
        db, encryptor, [DemoVenue(venue, market, fund)], count, password_hash
    )


async def create_demo_accounts_across(
    db: Database,
    encryptor: Encryptor,
    venues: Sequence[DemoVenue],
    count: int,
    password_hash: str,
) -> list[DemoAccount]:
    """Create `count` demo users, user `i` with an account on `venues[i % len(venues)]`
    (funded there by `funding_for` its market) and a running bot trading symbols that
    venue lists; each venue's accounts run the strategy mix in turn."""
    if not venues:
        raise ValueError("demo accounts need at least one venue")
    funded = [(venue, *funding_for(venue.market)) for venue in venues]
    created: list[DemoAccount] = []
    async with db.transaction() as conn:
        for i in range(count):
            venue, quote, balances = funded[i % len(funded)]
            nth = i // len(funded)  # the account's number on its venue
            budget = balances[quote]
            email = demo_email(i)
            user_id = uuid.uuid4().hex
            user = await users.create_user(
                conn,
                email_index=encryptor.email_index(email),
                email_encrypted=encryptor.encrypt(email, f"user:{user_id}:email").to_json(),
                password_hash=password_hash,
                roles=("trader",),
                user_id=user_id,
            )
            api_key, secret, venue_account_id = await venue.fund(balances)
            account_id = uuid.uuid4().hex
            context = f"exchange_account:{account_id}"
            await accounts.add_account(
                conn,
                user_id=user.id,
                venue=venue.name,
                label=f"demo {i}",
                api_key_masked=mask_api_key(api_key),
                api_key_encrypted=encryptor.encrypt(api_key, f"{context}:api_key").to_json(),
                api_secret_encrypted=encryptor.encrypt(secret, f"{context}:api_secret").to_json(),
                valuation_asset=quote,
                account_id=account_id,
            )
            strategy = STRATEGY_MIX[nth % len(STRATEGY_MIX)]
            bot = await bots.create_bot(
                conn,
                user_id=user.id,
                account_id=account_id,
                strategy=strategy,
                params=bot_params(strategy, venue.market, quote, budget, nth),
            )
            await bots.set_bot_state(conn, bot.id, BotState.RUNNING)
            created.append(
                DemoAccount(user.id, account_id, venue_account_id, bot.id, strategy, venue.name)
            )
    return created


def in_process_funding(exchange: SimulatedExchange) -> Funding:
    """Funding from the in-process simulated exchange's faucet."""

    async def fund(balances: dict[str, Decimal]) -> tuple[str, str, str]:
        creds = exchange.create_account(balances)
        return creds.api_key, creds.secret, creds.account_id

    return fund
