"""The WebSocket stream on a really served gateway: a user's own account events only,
authentication by query or first message, the role check, slow clients dropped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.integration.gateway.rbac_table import ALL
from tests.integration.gateway.serving import Serving, gateway_settings, serving
from tests.integration.gateway.support import Api, User
from tradewind.bus.envelope import envelope
from tradewind.bus.topics import ANALYTICS_UPDATES, ORDERS_EVENTS, PORTFOLIO_UPDATES
from tradewind.domain.analytics_figures import FIGURE_NAMES, figures_json
from tradewind.domain.events import AnalyticsUpdate, Fill, OrderFilled, PortfolioUpdate
from tradewind.domain.model import Instrument, Liquidity, Side
from tradewind.venues.simulated.exchange import SimulatedExchange

BTC = Instrument.parse("sim", "BTC/USDT")
STREAM_ROLES = frozenset({"admin", "trader", "viewer"})


@asynccontextmanager
async def served_api(
    tmp_path: Path, exchange: SimulatedExchange, **options: Any
) -> AsyncIterator[tuple[Serving, Api]]:
    async with (
        serving(gateway_settings(tmp_path), exchange, **options) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        yield server, Api(client, server.state, exchange)


def portfolio(account_id: str, equity: str) -> PortfolioUpdate:
    return PortfolioUpdate(
        account_id=account_id,
        valuation_asset="USDT",
        equity=Decimal(equity),
        cash=Decimal(equity),
        realized_pnl=Decimal(0),
        unrealized_pnl=Decimal(0),
        fees=Decimal(0),
        balances={"USDT": Decimal(equity)},
        ts_ns=time.time_ns(),
    )


async def receive(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(5):
        message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def test_a_client_gets_its_own_accounts_events_and_nobody_elses(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    async with served_api(tmp_path, exchange) as (server, api):
        alice, bob = await api.sign_up(), await api.sign_up()
        mine = (await api.connect_account(alice))["id"]
        theirs = (await api.connect_account(bob))["id"]
        async with connect(f"{server.ws_url}?token={alice.access_token}") as ws:
            assert await receive(ws) == {"type": "subscribed", "accounts": [mine]}
            await server.bus.publish(PORTFOLIO_UPDATES, envelope(portfolio(theirs, "5"), theirs))
            await server.bus.publish(PORTFOLIO_UPDATES, envelope(portfolio(mine, "1234.5"), mine))
            update = await receive(ws)
            assert update["type"] == "portfolio"
            assert update["data"]["account_id"] == mine
            assert update["data"]["equity"] == "1234.5"

            filled = OrderFilled(
                account_id=mine,
                client_order_id="tw-1",
                instrument=BTC,
                ts_ns=time.time_ns(),
                venue_order_id="v1",
                filled_quantity=Decimal("0.1"),
            )
            fill = Fill(
                account_id=mine,
                client_order_id="tw-1",
                venue_order_id="v1",
                trade_id="t1",
                instrument=BTC,
                side=Side.BUY,
                price=Decimal("30000"),
                quantity=Decimal("0.1"),
                fee=Decimal("0.0001"),
                fee_asset="BTC",
                liquidity=Liquidity.TAKER,
                ts_ns=time.time_ns(),
            )
            await server.bus.publish_batch(
                ORDERS_EVENTS, [envelope(filled, mine), envelope(fill, mine)]
            )
            order, trade = await receive(ws), await receive(ws)
            assert (order["type"], order["data"]["type"]) == ("order", "order.filled")
            assert order["data"]["instrument"] == {"venue": "sim", "symbol": "BTC/USDT"}
            assert (trade["type"], trade["data"]["price"]) == ("fill", "30000")

            figures = AnalyticsUpdate(
                account_id=mine, valuation_asset="USDT", equity=Decimal("1234.5"),
                period_s=60, periods=30, since_ns=time.time_ns() - 1_800_000_000_000,
                total_return=0.0123, max_drawdown=-0.02, current_drawdown=-0.01,
                volatility=0.4, sharpe=1.5, sortino=None, var_95=-0.003, cvar_95=-0.004,
                var_99=-0.006, cvar_99=-0.007, calmar=3.0, fees=Decimal("0.25"),
                max_drawdown_peak_ns=1_800_000_000 * 10**9, current_drawdown_start_ns=None,
                returns={"1d": None, "7d": None, "30d": None, "all": 0.0123},
                exposure={"USDT": 1.0}, concentration=1.0, ts_ns=time.time_ns(),
            )  # fmt: skip
            await server.bus.publish_batch(
                ANALYTICS_UPDATES,
                [
                    envelope(figures, mine),
                    envelope(msgspec.structs.replace(figures, account_id=theirs), theirs),
                ],
            )
            pushed = await receive(ws)
            assert (pushed["type"], pushed["data"]["account_id"]) == ("analytics", mine)
            assert (pushed["data"]["equity"], pushed["data"]["sharpe"]) == ("1234.5", 1.5)
            assert pushed["data"]["sortino"] is None
            # The figures as the API's `metrics` write them: every name, the same values.
            data = pushed["data"]
            event = ["type", "account_id", "valuation_asset", "equity", "since_ns", "ts_ns"]
            assert list(data) == event + list(FIGURE_NAMES)
            assert {k: data[k] for k in FIGURE_NAMES} == figures_json(figures)
            assert (data["var_99"], data["cvar_99"], data["calmar"]) == (-0.006, -0.007, 3.0)
            assert data["max_drawdown_peak"] == "2027-01-15T08:00:00+00:00"
            assert (data["current_drawdown_start"], data["fees"]) == (None, "0.25")
            assert data["returns"]["all"] == 0.0123 and data["exposure"] == {"USDT": 1.0}

            later = (await api.connect_account(alice, label="second"))["id"]
            await server.bus.publish(PORTFOLIO_UPDATES, envelope(portfolio(later, "7"), later))
            assert (await receive(ws))["data"]["account_id"] == later

        reads = await api.client.get("/api/v1/portfolio", headers=alice.headers)
        assert [p["equity"] for p in reads.json()["items"]] == ["1234.5", "7"]


async def test_the_token_may_come_as_the_first_message_and_a_bad_one_closes_4401(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    async with served_api(tmp_path, exchange) as (server, api):
        user = await api.sign_up()
        async with connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": user.access_token}))
            assert (await receive(ws))["type"] == "subscribed"
        for url, first in ((f"{server.ws_url}?token=forged", None), (server.ws_url, "hello")):
            async with connect(url) as ws:
                if first is not None:
                    await ws.send(first)
                with pytest.raises(ConnectionClosed) as closed:
                    await receive(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_only_roles_with_portfolio_read_may_stream(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    async with served_api(tmp_path, exchange) as (server, api):
        for role in sorted(ALL):
            caller: User = await api.as_roles(role)
            async with connect(f"{server.ws_url}?token={caller.access_token}") as ws:
                if role in STREAM_ROLES:
                    assert (await receive(ws))["type"] == "subscribed", role
                    continue
                with pytest.raises(ConnectionClosed) as closed:
                    await receive(ws)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403, role


async def test_a_client_that_stops_reading_is_dropped_not_waited_for(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    async with served_api(tmp_path, exchange, stream_queue_size=4) as (server, api):
        user = await api.sign_up()
        account = (await api.connect_account(user))["id"]
        hub = server.state.hub
        reader = socket.socket()
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills up quickly
        reader.connect(("127.0.0.1", server.settings.http_port))
        url = f"{server.ws_url}?token={user.access_token}"
        async with connect(url, sock=reader, max_queue=1, close_timeout=0.1) as ws:
            await receive(ws)
            many_assets = {f"ASSET{i}": Decimal(i) for i in range(500)}  # ~10 kB a message
            with contextlib.suppress(TimeoutError):  # the assertions below say what failed
                async with asyncio.timeout(20):
                    while not hub.dropped_slow:
                        update = msgspec.structs.replace(
                            portfolio(account, "1"), balances=many_assets, ts_ns=time.time_ns()
                        )
                        await server.bus.publish(PORTFOLIO_UPDATES, envelope(update, account))
                        await asyncio.sleep(0.001)
            assert hub.dropped_slow == 1
            assert hub.connections == 0


@pytest.mark.parametrize("server_due", [False, True], ids=["idle", "server-shutdown-due"])
async def test_stopping_the_gateway_closes_streams_with_1001(
    tmp_path: Path, exchange: SimulatedExchange, server_due: bool
) -> None:
    async with served_api(tmp_path, exchange) as (server, api):
        user = await api.sign_up()
        ws = await connect(f"{server.ws_url}?token={user.access_token}")
        await receive(ws)
        if server_due:
            # The web server looks at its exit flag every 0.1 s. A loop busy past that
            # puts the server's look in the same turn as the stop, ahead of the session:
            # had the gateway not waited for its sessions, the server's shutdown would
            # close them first, with 1012 (seen in CI under load).
            time.sleep(0.15)  # noqa: ASYNC251 - blocking the loop is the point
            await asyncio.sleep(0)
        await server.service.stop()
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "gateway stopping")
