"""The coins the simulator lists, as Binance's wallet describes them (`GET
/sapi/v1/capital/config/getall`): a name and the networks a coin moves on, the first being
its default. Nothing moves on them here: the simulated venue has no deposits or
withdrawals, so every network answers with both switched off.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CoinNetwork:
    """One network of a coin: Binance's id (`ETH`, `BSC`, `TRX` …), its display name,
    and the patterns a deposit address and memo follow ("" = no memo)."""

    network: str
    name: str
    address_regex: str
    memo_regex: str = ""


_EVM_ADDRESS = "^(0x)[0-9A-Fa-f]{40}$"
_ERC20 = CoinNetwork("ETH", "Ethereum (ERC20)", _EVM_ADDRESS)
_BEP20 = CoinNetwork("BSC", "BNB Smart Chain (BEP20)", _EVM_ADDRESS)
_TRC20 = CoinNetwork("TRX", "Tron (TRC20)", "^T[1-9A-HJ-NP-Za-km-z]{33}$")

COIN_NAMES = {
    "BNB": "BNB",
    "BTC": "Bitcoin",
    "DASH": "Dash",
    "ETC": "Ethereum Classic",
    "ETH": "Ethereum",
    "LTC": "Litecoin",
    "SOL": "Solana",
    "USDC": "USDC",
    "USDT": "TetherUS",
    "XLM": "Stellar Lumens",
    "XMR": "Monero",
    "XRP": "XRP",
    "ZEC": "Zcash",
}

COIN_NETWORKS: dict[str, tuple[CoinNetwork, ...]] = {
    "BNB": (_BEP20,),
    "BTC": (
        CoinNetwork(
            "BTC", "Bitcoin", "^[13][a-km-zA-HJ-NP-Z1-9]{25,34}$|^(bc1)[0-9A-Za-z]{39,59}$"
        ),
    ),
    "DASH": (CoinNetwork("DASH", "Dash", "^[X7][0-9A-Za-z]{33}$"),),
    "ETC": (CoinNetwork("ETC", "Ethereum Classic", _EVM_ADDRESS),),
    "ETH": (_ERC20, _BEP20),
    "LTC": (CoinNetwork("LTC", "Litecoin", "^(L|M|3)[A-Za-z0-9]{33}$|^(ltc1)[0-9A-Za-z]{39}$"),),
    "SOL": (CoinNetwork("SOL", "Solana", "^[1-9A-HJ-NP-Za-km-z]{32,44}$"),),
    "USDC": (_ERC20, _BEP20),
    "USDT": (_ERC20, _TRC20, _BEP20),
    "XLM": (CoinNetwork("XLM", "Stellar Network", "^G[A-D][A-Z2-7]{54}$", "^[0-9A-Za-z]{1,28}$"),),
    "XMR": (CoinNetwork("XMR", "Monero", "^[48][0-9A-Za-z]{94}([0-9A-Za-z]{11})?$"),),
    "XRP": (CoinNetwork("XRP", "Ripple", "^r[1-9A-HJ-NP-Za-km-z]{24,34}$", "^[0-9]{1,10}$"),),
    "ZEC": (CoinNetwork("ZEC", "Zcash", "^(t)[A-Za-z0-9]{34}$"),),
}

FIAT = frozenset({"AUD", "BRL", "EUR", "GBP", "JPY", "TRY", "UAH", "USD"})


def networks_of(coin: str) -> tuple[CoinNetwork, ...]:
    """`coin`'s networks, default first; an unlisted coin gets one named after itself."""
    return COIN_NETWORKS.get(coin) or (CoinNetwork(coin, coin, ""),)
