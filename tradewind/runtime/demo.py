"""Demo users for `tradewind up --bots N`: each gets a user, an account funded on the
in-process simulated exchange (in the currencies of the market being run), its keys
stored encrypted like any user's, and one running bot — a mix of the four built-in
strategies with parameters that suit the market."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from tradewind.security.envelope import Encryptor
from tradewind.security.redaction import mask_api_key
from tradewind.store import accounts, bots, users
from tradewind.store.database import Database
from tradewind.venues.simulated.exchange import SimulatedExchange

DEMO_PASSWORD = "demo-password-not-for-production"
STRATEGY_MIX = ("dca", "grid", "momentum", "rebalance")


@dataclass(frozen=True)
class DemoAccount:
    user_id: str
    account_id: str  # the platform's id of the exchange account
    venue_account_id: str  # the simulated exchange's own id of it
    bot_id: str
    strategy: str


def funding_for(exchange: SimulatedExchange) -> tuple[str, dict[str, Decimal]]:
    """The valuation asset and starting balances for the market being run: 1 BTC on
    BTC-quoted markets (the 2018 replay), 10,000 USDT on USDT markets."""
    quotes = {spec.instrument.quote for spec in exchange.specs.values()}
    if quotes == {"BTC"}:
        return "BTC", {"BTC": Decimal(1)}
    quote = "USDT" if "USDT" in quotes else sorted(quotes)[0]
    return quote, {quote: Decimal(10_000)}


def bot_params(
    strategy: str, exchange: SimulatedExchange, quote: str, budget: Decimal, index: int
) -> dict[str, Any]:
    """Parameters for demo bot number `index`: symbols rotate through the market; sizes
    are fractions of the account's budget; schedules are short so a minute shows trades."""
    symbols = sorted(s for s, spec in exchange.specs.items() if spec.instrument.quote == quote)
    symbol = symbols[index % len(symbols)]
    now_ms = exchange.clock() // 1_000_000
    price = exchange.prices.price(symbol, now_ms)
    if strategy == "dca":
        return {"symbol": symbol, "quote_amount": str(budget / 200), "interval_s": 5}
    if strategy == "grid":
        tick = exchange.specs[symbol].filters.tick_size
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
    exchange: SimulatedExchange,
    count: int,
    password_hash: str,
) -> list[DemoAccount]:
    """Create `count` demo users, each with a funded account and a running bot."""
    quote, balances = funding_for(exchange)
    budget = balances[quote]
    created: list[DemoAccount] = []
    async with db.transaction() as conn:
        for i in range(count):
            email = f"demo-{i}@tradewind.local"
            user_id = uuid.uuid4().hex
            user = await users.create_user(
                conn,
                email_index=encryptor.email_index(email),
                email_encrypted=encryptor.encrypt(email, f"user:{user_id}:email").to_json(),
                password_hash=password_hash,
                roles=("trader",),
                user_id=user_id,
            )
            creds = exchange.create_account(balances)
            account_id = uuid.uuid4().hex
            context = f"exchange_account:{account_id}"
            await accounts.add_account(
                conn,
                user_id=user.id,
                venue="sim",
                label=f"demo {i}",
                api_key_masked=mask_api_key(creds.api_key),
                api_key_encrypted=encryptor.encrypt(creds.api_key, f"{context}:api_key").to_json(),
                api_secret_encrypted=encryptor.encrypt(
                    creds.secret, f"{context}:api_secret"
                ).to_json(),
                valuation_asset=quote,
                account_id=account_id,
            )
            strategy = STRATEGY_MIX[i % len(STRATEGY_MIX)]
            bot = await bots.create_bot(
                conn,
                user_id=user.id,
                account_id=account_id,
                strategy=strategy,
                params=bot_params(strategy, exchange, quote, budget, i),
            )
            await bots.set_bot_state(conn, bot.id, bots.BotState.RUNNING)
            created.append(DemoAccount(user.id, account_id, creds.account_id, bot.id, strategy))
    return created
