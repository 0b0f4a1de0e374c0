"""The source addresses venue calls leave from (`TRADEWIND_EGRESS`): exchanges count
request weight per client address, so a platform with many accounts spreads them over
several addresses, each with its own budget (execution keeps one weight limiter per venue
and address). An account always leaves from the same one while the pool is unchanged.
"""

from __future__ import annotations

import ipaddress
import zlib

from tradewind.errors import ConfigError

SETTING = "TRADEWIND_EGRESS"


def parse_egress(text: str) -> tuple[str, ...]:
    """`127.0.0.2,127.0.0.3` -> the addresses, in order (empty: the machine's default
    route); ConfigError naming TRADEWIND_EGRESS for a part that is not an IP address, or
    one given twice."""
    found: list[str] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            address = str(ipaddress.ip_address(part))
        except ValueError:
            raise ConfigError(
                SETTING, f"{part!r} is not an IP address (give this machine's addresses, "
                "comma-separated, e.g. 10.0.0.5,10.0.0.6)",
            ) from None  # fmt: skip
        if address in found:
            raise ConfigError(SETTING, f"{address} is given twice")
        found.append(address)
    return tuple(found)


def egress_for(account_id: str, pool: tuple[str, ...]) -> str | None:
    """The address `account_id`'s calls leave from: a stable hash of the account over the
    pool (the same in every process and after a restart); None without a pool."""
    if not pool:
        return None
    return pool[zlib.crc32(account_id.encode()) % len(pool)]
