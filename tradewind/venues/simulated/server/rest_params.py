"""A Binance REST request's parameters: the query string and the form body, read and
validated the way Binance does, each problem raised as its Binance error.

A parameter may come in the query string or the `application/x-www-form-urlencoded`
body; if both carry it the query string wins (Binance's rule). Sending one twice in the
same part is -1101; an empty value counts as not sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from decimal import Decimal
from urllib.parse import parse_qsl

from starlette.requests import Request

from tradewind.venues.simulated.kline_intervals import time_zone_offset_ms
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server.formatting import SymbolMap

_DECIMAL = re.compile(errors.DECIMAL_RANGE)
_INTEGER = re.compile(errors.INTEGER_RANGE)
_SYMBOL = re.compile(errors.SYMBOL_RANGE)
SYMBOL_STATUSES = ("TRADING", "HALT", "BREAK")


class Params:
    """The parameters of one request; `raw_query` / `raw_body` are kept as sent, for the
    signature."""

    def __init__(self, raw_query: str, raw_body: str) -> None:
        self.raw_query = raw_query
        self.raw_body = raw_body
        query = _parse(raw_query)
        self._values = {**_parse(raw_body), **query}

    @classmethod
    async def read(cls, request: Request) -> Params:
        body = await request.body()
        try:
            raw_body = body.decode()
        except UnicodeDecodeError:
            raise errors.illegal_chars("body", "UTF-8 form data") from None
        return cls(request.url.query, raw_body)

    @classmethod
    def of(cls, values: Mapping[str, str]) -> Params:
        """Parameters that did not come as a query string (the WebSocket API's JSON
        `params`, each value as text): validated the same way, nothing raw to sign."""
        params = cls("", "")
        params._values = {name: value for name, value in values.items() if value != ""}
        return params

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def text(self, name: str) -> str | None:
        return self._values.get(name)

    def required(self, name: str) -> str:
        value = self._values.get(name)
        if value is None:
            raise errors.mandatory_missing(name)
        return value

    def decimal(self, name: str) -> Decimal | None:
        value = self._values.get(name)
        if value is None:
            return None
        if not _DECIMAL.fullmatch(value):
            raise errors.illegal_chars(name, errors.DECIMAL_RANGE)
        return Decimal(value)

    def integer(self, name: str) -> int | None:
        value = self._values.get(name)
        if value is None:
            return None
        if not _INTEGER.fullmatch(value):
            raise errors.illegal_chars(name, errors.INTEGER_RANGE)
        return int(value)

    def limit(self, default: int, maximum: int) -> int:
        """`limit`, defaulting to `default`; above `maximum` it is capped, as Binance does."""
        value = self.integer("limit")
        if value is None:
            return default
        if value < 1:
            raise errors.invalid_parameter("limit")
        return min(value, maximum)

    def choice(self, name: str, allowed: Collection[str], error: errors.BinanceError) -> str | None:
        value = self._values.get(name)
        if value is not None and value not in allowed:
            raise error
        return value

    def wants_trading_symbols(self) -> bool:
        """Whether `symbolStatus`, if sent, asks for TRADING: the status of every symbol
        the simulator lists. -1122 if it is not a status."""
        status = self.choice(
            "symbolStatus", SYMBOL_STATUSES, errors.BinanceError(-1122, "Invalid symbolStatus.")
        )
        return status in (None, "TRADING")

    def time_zone_ms(self) -> int:
        """`timeZone` as ms ahead of UTC (0 if not sent); -1130 if malformed or outside
        [-12:00, +14:00]."""
        text = self._values.get("timeZone")
        if text is None:
            return 0
        offset = time_zone_offset_ms(text)
        if offset is None:
            raise errors.invalid_parameter("timeZone")
        return offset

    def flag(self, name: str) -> bool:
        value = self._values.get(name)
        if value is None:
            return False
        if value.lower() not in ("true", "false"):
            raise errors.invalid_parameter(name)
        return value.lower() == "true"

    def reject(self, *names: str) -> None:
        """-1106 if any of `names` was sent."""
        for name in names:
            if name in self._values:
                raise errors.not_required(name)

    def symbol(self, symbols: SymbolMap) -> str:
        """The mandatory `symbol`, as the engine's unified symbol."""
        return _unified(self.required("symbol"), symbols)

    def optional_symbol(self, symbols: SymbolMap) -> str | None:
        wire = self._values.get("symbol")
        return None if wire is None else _unified(wire, symbols)

    def symbol_list(self, symbols: SymbolMap, most: int | None = None) -> list[str] | None:
        """`symbol` or the JSON array `symbols`, as unified symbols; None if neither.
        More than `most` symbols is -1101."""
        one, many = self._values.get("symbol"), self._values.get("symbols")
        if one is not None and many is not None:
            raise errors.bad_combination()
        if one is not None:
            return [_unified(one, symbols)]
        if many is None:
            return None
        try:
            wires = json.loads(many)
        except ValueError:
            raise errors.invalid_parameter("symbols") from None
        if not isinstance(wires, list) or not wires or not all(isinstance(w, str) for w in wires):
            raise errors.invalid_parameter("symbols")
        if most is not None and len(wires) > most:
            raise errors.too_many_values("symbols", most)
        if len(set(wires)) != len(wires):
            raise errors.BinanceError(-1151, "Symbol is present multiple times in the list.")
        return [_unified(w, symbols) for w in wires]


def _parse(raw: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        if name in values:
            raise errors.duplicate_parameter()
        values[name] = value
    return {name: value for name, value in values.items() if value != ""}


def _unified(wire: str, symbols: SymbolMap) -> str:
    if not _SYMBOL.fullmatch(wire):
        raise errors.illegal_chars("symbol", errors.SYMBOL_RANGE)
    unified = symbols.unified(wire)
    if unified is None:
        raise errors.invalid_symbol()
    return unified
