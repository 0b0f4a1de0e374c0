"""`GET /bots/{id}/next-rebalance`: a `rebalance` bot's next orders and the risk before
and after, from its stored params, the account's latest valuation, the last prices in
the cache and the venue's markets; 409 naming what is missing, 404 for another's bot."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.gateway.support import Api, User
from tradewind.bus.envelope import envelope
from tradewind.cache.memory import MemoryCache
from tradewind.domain.events import PortfolioUpdate
from tradewind.domain.model import Instrument
from tradewind.gateway.feed import account_events_handler
from tradewind.services.marketdata.quotes import QuoteWriter
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket

D = Decimal
BTC, ETH = "BTC/USDT", "ETH/USDT"
#: The sim's taker fee here: not the 0.1 % the route assumes when a venue lists none.
TAKER_FEE = D("0.00075")


@pytest.fixture
def exchange() -> SimulatedExchange:
    exchange = SimulatedExchange(SyntheticMarket(seed=1), fees=TAKER_FEE)
    exchange.step()
    return exchange


async def rebalance_bot(api: Api, user: User, account_id: str, **params: object) -> str:
    response = await api.client.post(
        "/api/v1/bots",
        json={
            "account_id": account_id,
            "strategy": "rebalance",
            "params": {"basket": [BTC, ETH], "weights": {BTC: "3", ETH: "1"}, "cash_reserve": "0.2"}
            | params,
        },
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    bot_id: str = response.json()["id"]
    return bot_id


async def valued(api: Api, account_id: str, balances: dict[str, str]) -> None:
    """The portfolio service's latest valuation of the account, as the gateway gets it."""
    amounts = {asset: D(amount) for asset, amount in balances.items()}
    update = PortfolioUpdate(
        account_id=account_id, valuation_asset="USDT", equity=sum(amounts.values(), D(0)),
        cash=amounts.get("USDT", D(0)), realized_pnl=D(0), unrealized_pnl=D(0), fees=D(0),
        balances=amounts, ts_ns=time.time_ns(),
    )  # fmt: skip
    handler = account_events_handler(api.state.portfolios, api.state.hub)
    await handler([envelope(update, account_id)])


async def last_prices(api: Api, prices: dict[str, str]) -> None:
    """Last prices as marketdata writes them to the cache the gateway reads."""
    cache = api.state.cache = api.state.cache or MemoryCache()
    writer = QuoteWriter(cache)
    for symbol, price in prices.items():
        writer.last_price(Instrument.parse("sim", symbol), D(price), time.time_ns())
    await writer.flush()


async def next_rebalance(api: Api, user: User, bot_id: str) -> tuple[int, dict[str, Any]]:
    response = await api.client.get(f"/api/v1/bots/{bot_id}/next-rebalance", headers=user.headers)
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def test_a_fixed_weight_bot_gets_the_orders_and_figures_of_its_next_rebalance(
    api: Api,
) -> None:
    """Equity 1,000 USDT + 10 ETH x 200 = 3,000; targets BTC 0.6, ETH 0.2 (3:1 less a
    20 % reserve): sell 7 ETH (1,400), buy 0.06 BTC (1,800); 3,200 traded, 2.4 in fees
    at the venue's 0.075 %."""
    user = await api.sign_up()
    account = (await api.connect_account(user))["id"]
    bot = await rebalance_bot(api, user, account)
    await valued(api, account, {"USDT": "1000", "ETH": "10"})
    await last_prices(api, {BTC: "30000", ETH: "200"})

    status, body = await next_rebalance(api, user, bot)

    assert status == 200, body
    assert (body["bot_id"], body["account_id"], body["quote"]) == (bot, account, "USDT")
    orders = [(o["side"], o["symbol"], D(o["quantity"]), D(o["value"])) for o in body["orders"]]
    assert orders == [("SELL", ETH, D(7), D(1400)), ("BUY", BTC, D("0.06"), D(1800))]
    assert (D(body["equity"]), D(body["traded"])) == (D(3000), D(3200))
    assert body["traded_fraction"] == pytest.approx(3200 / 3000)
    assert (D(body["fee_rate"]), body["fee_rate_source"]) == (TAKER_FEE, "venue")
    assert D(body["fees"]) == D("2.4")
    assert body["rounded"] is True and body["notes"] == []
    after_total = 1000 + 1400 - 1800 - 2.4 + 1800 + 600
    weights = {w["asset"]: (w["before"], w["after"]) for w in body["weights"]}
    assert weights == {
        "BTC": (0.0, pytest.approx(1800 / after_total)),
        "ETH": (pytest.approx(2 / 3), pytest.approx(600 / after_total)),
        "USDT": (pytest.approx(1 / 3), pytest.approx(597.6 / after_total)),
    }
    assert body["before"] == {
        "concentration": pytest.approx(5 / 9),
        "largest_weight": pytest.approx(2 / 3),
    }
    assert body["after"] == {
        "concentration": pytest.approx((1800**2 + 600**2 + 597.6**2) / after_total**2),
        "largest_weight": pytest.approx(1800 / after_total),
    }


async def test_a_bot_of_another_strategy_gets_409_and_another_users_bot_404(api: Api) -> None:
    owner, stranger = await api.sign_up(), await api.sign_up()
    account = (await api.connect_account(owner))["id"]
    dca = (await api.create_bot(owner, account))["id"]
    rebalancing = await rebalance_bot(api, owner, account)
    momentum = await rebalance_bot(api, owner, account, weighting="momentum")
    await valued(api, account, {"USDT": "1000"})
    await last_prices(api, {BTC: "30000", ETH: "200"})

    status, body = await next_rebalance(api, owner, dca)
    assert status == 409 and "strategy 'dca'" in body["detail"], body
    status, body = await next_rebalance(api, owner, momentum)
    assert status == 409 and "momentum weighting needs the last 289 closes" in body["detail"]
    status, _ = await next_rebalance(api, owner, rebalancing)
    assert status == 200
    for bot in (dca, rebalancing):
        status, body = await next_rebalance(api, stranger, bot)
        assert (status, body["detail"]) == (404, "no such bot")


async def test_unknown_prices_or_balances_give_409_naming_what_is_missing(api: Api) -> None:
    user = await api.sign_up()
    account = (await api.connect_account(user))["id"]
    bot = await rebalance_bot(api, user, account)
    await last_prices(api, {BTC: "30000"})

    status, body = await next_rebalance(api, user, bot)
    assert status == 409 and "balances are not known yet" in body["detail"], body

    await valued(api, account, {"USDT": "1000"})
    status, body = await next_rebalance(api, user, bot)
    assert status == 409, body
    assert "no last price yet for ETH/USDT on sim" in body["detail"]
    assert "BTC/USDT" not in body["detail"]
