"""The strategy service: hosts bots (strategies attached to accounts) and publishes
their order intents. See `README.md` in this package."""

from tradewind.services.strategy.instance_slots import InstanceSlot
from tradewind.services.strategy.service import StrategyService

__all__ = [
    "InstanceSlot",
    "StrategyService",
]
