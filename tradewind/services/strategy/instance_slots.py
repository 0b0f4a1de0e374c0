"""Static slots for strategy instances, when `TRADEWIND_INSTANCE_COUNT` > 1.

By default (0 of 1) instances share the group `strategy` and host the bots of the
partitions they read, moving with them (see the service and its README); these static
slots are the alternative: instance `index` of `count` hosts the bots of every account
whose `crc32(account_id) % count == index` (CRC-32 of the UTF-8 id: the same in every
process and language). Set `TRADEWIND_INSTANCE_INDEX` (0-based) and
`TRADEWIND_INSTANCE_COUNT` on each process (settings of the strategy section, checked at
load).

Each slot is its own consumer group on the account topics
(`strategy-{index}-of-{count}`): every slot reads every account event once and ignores
those of accounts it does not host. The price is that `count` instances each read (not
handle) the whole account stream, which is cheap next to market data; changing `count`
starts new groups that begin at the oldest retained event, which the service's
idempotent handling absorbs.

Exactly one process may run per slot (two with the same index would both run the same
bots' timers: their intents carry the same ids, so execution places each order once,
but the bots' memories would diverge), and a dead slot's bots wait for it to come back.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from tradewind.errors import ConfigError
from tradewind.runtime.service_settings import StrategySettings

INDEX_VARIABLE = "TRADEWIND_INSTANCE_INDEX"
COUNT_VARIABLE = "TRADEWIND_INSTANCE_COUNT"
#: The consumer group on the account topics (bot.commands, orders.events,
#: portfolio.updates) of a single instance.
ACCOUNT_GROUP = "strategy"


@dataclass(frozen=True, slots=True)
class InstanceSlot:
    """This instance's slot: `index` in `0 .. count - 1`."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ConfigError(COUNT_VARIABLE, f"must be at least 1, got {self.count}")
        if not 0 <= self.index < self.count:
            raise ConfigError(
                INDEX_VARIABLE,
                f"must be in 0..{self.count - 1} ({COUNT_VARIABLE}={self.count}), got {self.index}",
            )

    @classmethod
    def from_settings(cls, settings: StrategySettings) -> InstanceSlot:
        """The slot `TRADEWIND_INSTANCE_INDEX` / `TRADEWIND_INSTANCE_COUNT` name (0 of 1
        when unset; the settings checked them at load)."""
        return cls(settings.instance_index, settings.instance_count)

    def owns(self, account_id: str) -> bool:
        """Whether this instance hosts the bots of `account_id`."""
        return self.count == 1 or zlib.crc32(account_id.encode()) % self.count == self.index

    @property
    def account_group(self) -> str:
        """The consumer group of this slot on the account topics."""
        if self.count == 1:
            return ACCOUNT_GROUP
        return f"{ACCOUNT_GROUP}-{self.index}-of-{self.count}"
