"""Who the client is, when the gateway sits behind proxies.

`X-Forwarded-For` is believed only from the peers listed in `TRADEWIND_TRUSTED_PROXIES`
(addresses or networks; none by default). From such a peer the client is the rightmost
address of the header that is not itself a trusted proxy: each proxy appends the address
it saw, so everything left of that is whatever the client chose to send. Anything that
is not an IP address ends the walk (the last trusted hop stands for the client), and the
result is always a canonical address of at most 45 characters, safe to store and to key
throttling by. uvicorn's own proxy handling is off (`proxy_headers=False`): it trusts
127.0.0.1 by default, which let any local caller choose its address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_trusted_proxies(text: str) -> tuple[IpNetwork, ...]:
    """`"10.0.0.0/8, 192.0.2.7"` as networks; raises ValueError naming a bad entry."""
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"{entry[:64]!r} is not an IP address or network (e.g. 10.0.0.0/8)"
            ) from None
    return tuple(networks)


def _address(text: str) -> IpAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: IpAddress, proxies: tuple[IpNetwork, ...]) -> bool:
    return any(address in network for network in proxies)


def client_address(peer: str, forwarded_for: Iterable[str], proxies: tuple[IpNetwork, ...]) -> str:
    """The client's address: `peer` (the TCP peer) unless it is a trusted proxy, then
    the rightmost untrusted address of the `X-Forwarded-For` header values."""
    found = _address(peer)
    if found is None:
        return peer[:45]  # not an IP (a test transport's name): only ever the peer's
    if not proxies or not _trusted(found, proxies):
        return str(found)
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        found = address
        if not _trusted(address, proxies):
            break
    return str(found)
