"""The engine holds no reference cycles, so reference counting alone frees it.

Orders are msgspec Structs with `gc=False` (the cycle collector never scans them); that
is only safe while nothing an order references points back at an order, which these
tests check.
"""

from __future__ import annotations

import gc
import sys
import weakref

from tradewind.domain.model import Side

from .factories import BTC_USDT, T0, D, funded_engine


def test_engine_orders_and_trades_are_freed_by_reference_counting_alone() -> None:
    # Fresh (not interned) strings: their reference counts tell whether the orders
    # that hold them are still alive.
    filled_id = "".join(["filled-", "maker"])
    canceled_id = "".join(["canceled-", "maker"])
    baselines = sys.getrefcount(filled_id), sys.getrefcount(canceled_id)
    gc.collect()
    gc.disable()
    try:
        engine = funded_engine("a", "b")
        engine.submit_limit(
            "a", BTC_USDT, Side.SELL, D("1"), D("30000"), client_order_id=filled_id, ts_ns=T0
        )
        engine.submit_limit(
            "a", BTC_USDT, Side.SELL, D("1"), D("31000"), client_order_id=canceled_id, ts_ns=T0
        )
        engine.submit_market("b", BTC_USDT, Side.BUY, quantity=D("1"), ts_ns=T0)
        engine.cancel_order("a", BTC_USDT, client_order_id=canceled_id, ts_ns=T0)
        alive = weakref.ref(engine)

        del engine

        assert alive() is None
        assert (sys.getrefcount(filled_id), sys.getrefcount(canceled_id)) == baselines
    finally:
        gc.enable()
