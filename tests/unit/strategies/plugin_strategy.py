"""A third-party-style strategy for the registry and API tests: it buys a fixed quantity
of one symbol on every bar and remembers how many bars it saw."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

from tradewind.domain.events import Bar
from tradewind.domain.model import OrderType, Side
from tradewind.strategies.api import Strategy, StrategyContext, StrategyMemory
from tradewind.strategies.params import StrategyParams, require_positive, require_symbol


class EchoParams(StrategyParams, frozen=True):
    symbol: str = "ETH/BTC"
    quantity: Decimal = Decimal("0.01")
    every: Annotated[int, msgspec.Meta(ge=1)] = 1

    def __post_init__(self) -> None:
        require_symbol("symbol", self.symbol)
        require_positive("quantity", self.quantity)


class EchoMemory(StrategyMemory, kw_only=True):
    bars_seen: int = 0
    last_close: Decimal | None = None


class EchoStrategy(Strategy):
    name = "echo"
    Params = EchoParams
    params: EchoParams
    memory: EchoMemory

    def symbols(self) -> tuple[str, ...]:
        return (self.params.symbol,)

    def new_memory(self) -> EchoMemory:
        return EchoMemory()

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> None:
        self.memory.bars_seen += 1
        self.memory.last_close = bar.close
        if self.memory.bars_seen % self.params.every == 0:
            ctx.submit(
                Side.BUY, self.params.symbol, self.params.quantity, order_type=OrderType.MARKET
            )


class NotAStrategy:
    name = "impostor"


class FakeGrid(EchoStrategy):
    """Claims the built-in grid's name."""

    name = "grid"
