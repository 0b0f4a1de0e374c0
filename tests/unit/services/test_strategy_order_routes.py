"""`OrderRoutes`: which hosted bot an order event belongs to, by client order id.

Every open order routes to its bot; a finished one still does for a while (a fill can
arrive after the cancel), up to `keep_closed` of the most recently finished; and a bot no
longer hosted loses the routes of its open orders, without taking those of the bot's
new host."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from tradewind.bus.memory import MemoryBus
from tradewind.domain.model import OrderType, Side
from tradewind.services.strategy.account_view import AccountView
from tradewind.services.strategy.host import BotHost
from tradewind.services.strategy.metrics import StrategyMetrics
from tradewind.services.strategy.outbound import Outbound
from tradewind.services.strategy.roster import BotRoster, OrderRoutes
from tradewind.services.strategy.timers import TimerWheel
from tradewind.store.database import Database
from tradewind.strategies.api import OpenOrder, client_order_id_for
from tradewind.strategies.dca import DcaStrategy
from tradewind.venues.port import Market

D = Decimal
ETH = "ETH/BTC"
MARKETS = {ETH: Market(ETH, "ETH", "BTC", D("0.00001"), D("0.001"), D("0.001"), D("0.0001"))}


def outbound(routes: OrderRoutes | None = None) -> Outbound:
    return Outbound(
        MemoryBus(), Database("sqlite+aiosqlite://"), routes or OrderRoutes(),
        StrategyMetrics(CollectorRegistry()),
    )  # fmt: skip


def bot(bot_id: str = "b1", account: AccountView | None = None) -> BotHost:
    """A hosted DCA bot of account a1 (a real strategy; its hooks are not called here)."""
    dca = DcaStrategy.from_params({"symbol": ETH, "quote_amount": "0.01"})
    account = account or AccountView("a1", "sim", MARKETS, {})
    return BotHost(bot_id, dca, account, outbound(), TimerWheel())


def with_order(host: BotHost, intent_id: str) -> str:
    """Give `host` the open order `intent_id`; returns its client order id."""
    client_order_id = client_order_id_for(host.account_id, host.bot_id, intent_id)
    host.orders[client_order_id] = OpenOrder(
        intent_id=intent_id, client_order_id=client_order_id, symbol=ETH, side=Side.BUY,
        order_type=OrderType.LIMIT, quantity=D(1), price=D("0.04"),
    )  # fmt: skip
    return client_order_id


def test_an_open_order_routes_to_its_bot_and_an_unknown_one_nowhere() -> None:
    routes, host = OrderRoutes(), bot()
    routes.open("tw-1", host)
    assert routes.find("tw-1") is host
    assert routes.find("tw-2") is None


def test_a_finished_order_still_routes_for_its_late_events() -> None:
    routes, host = OrderRoutes(), bot()
    routes.open("tw-1", host)
    routes.close("tw-1")
    assert routes.find("tw-1") is host


def test_closing_an_unknown_or_finished_order_changes_nothing() -> None:
    routes, host = OrderRoutes(keep_closed=1), bot()
    routes.open("tw-1", host)
    routes.close("tw-1")
    routes.close("tw-1")  # a repeated finish
    routes.close("tw-unknown")  # an order this instance never routed
    assert routes.find("tw-1") is host
    assert routes.find("tw-unknown") is None


def test_only_the_most_recently_finished_orders_are_kept() -> None:
    routes, host = OrderRoutes(keep_closed=2), bot()
    for client_order_id in ("tw-1", "tw-2", "tw-3"):
        routes.open(client_order_id, host)
    for client_order_id in ("tw-3", "tw-1", "tw-2"):  # finished in another order
        routes.close(client_order_id)
    assert routes.find("tw-3") is None  # finished first, forgotten first
    assert routes.find("tw-1") is host and routes.find("tw-2") is host


def test_finished_orders_never_push_out_an_open_one() -> None:
    routes, host = OrderRoutes(keep_closed=3), bot()
    routes.open("tw-resting", host)
    for n in range(100):
        routes.open(f"tw-{n}", host)
        routes.close(f"tw-{n}")
    assert routes.find("tw-resting") is host


def test_forget_drops_the_routes_of_the_bots_open_orders_only() -> None:
    routes, leaving, staying = OrderRoutes(), bot("b1"), bot("b2")
    ours, theirs = with_order(leaving, "b1:1"), with_order(staying, "b2:1")
    routes.open(ours, leaving)
    routes.open(theirs, staying)
    routes.forget(leaving)
    assert routes.find(ours) is None
    assert routes.find(theirs) is staying


def test_forgetting_an_old_host_keeps_the_routes_of_the_bots_new_host() -> None:
    # A bot handed over and hosted again: a new BotHost with the same open orders.
    routes, old, new = OrderRoutes(), bot("b1"), bot("b1")
    client_order_id = with_order(old, "b1:1")
    with_order(new, "b1:1")
    routes.open(client_order_id, old)
    routes.open(client_order_id, new)
    routes.forget(old)
    assert routes.find(client_order_id) is new


def test_the_roster_routes_a_hosted_bots_restored_orders_until_it_stops_hosting_it() -> None:
    roster = BotRoster()
    roster.add_venue("sim", MARKETS)
    host = bot("b1", roster.account("a1", "sim"))
    client_order_id = with_order(host, "b1:7")  # open when its state was saved
    roster.add(host)
    assert roster.routes.find(client_order_id) is host
    roster.remove(host)
    assert roster.routes.find(client_order_id) is None


# -- the invariant, over any sequence of orders opening, finishing and bots leaving ----

KEEP = 3
Step = tuple[str, int]  # ("open", bot) | ("close", nth order) | ("forget", bot)
STEPS = st.lists(
    st.tuples(st.just("open"), st.integers(0, 2))
    | st.tuples(st.just("close"), st.integers(0, 30))
    | st.tuples(st.just("forget"), st.integers(0, 2)),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(steps=STEPS)
def test_open_orders_and_the_latest_finished_ones_route_to_their_bot(steps: list[Step]) -> None:
    routes = OrderRoutes(keep_closed=KEEP)
    hosts = [bot(f"b{i}") for i in range(3)]
    opened: list[tuple[str, BotHost]] = []  # every order ever opened, in order
    open_now: dict[str, BotHost] = {}
    finished: list[str] = []  # finish order, oldest first; each id finishes once
    for action, n in steps:
        if action == "open":
            host = hosts[n]
            client_order_id = with_order(host, f"{host.bot_id}:{len(opened) + 1}")
            routes.open(client_order_id, host)
            opened.append((client_order_id, host))
            open_now[client_order_id] = host
        elif action == "close" and n < len(opened):
            client_order_id, host = opened[n]
            routes.close(client_order_id)
            host.orders.pop(client_order_id, None)
            if open_now.pop(client_order_id, None) is not None:
                finished.append(client_order_id)
        elif action == "forget":
            routes.forget(hosts[n])
            for client_order_id in list(hosts[n].orders):
                open_now.pop(client_order_id, None)
        kept = set(finished[-KEEP:])
        for client_order_id, host in opened:
            expected = host if client_order_id in open_now or client_order_id in kept else None
            assert routes.find(client_order_id) is expected, (action, n, client_order_id)
