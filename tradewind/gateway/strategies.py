"""The gateway's narrow view of the strategy plug-ins: their names, their parameter
schemas, and validating a bot's parameters (defaults filled in, errors naming the
field and the bound, never the value): first against the strategy's own bounded schema,
then against the symbols the account's venue lists; and a `rebalance` bot's stored
parameters, read back to plan its next rebalance. Only this module imports
`tradewind.strategies`."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Protocol

import msgspec

from tradewind.gateway.errors import ApiError
from tradewind.strategies.api import Strategy
from tradewind.strategies.errors import InvalidParams
from tradewind.strategies.rebalance import RebalanceParams, RebalanceStrategy
from tradewind.strategies.rebalance_preview import (
    RebalanceNotPlannable,
    RebalancePreview,
    basket_assets,
    preview_rebalance,
)
from tradewind.strategies.registry import load_strategies

__all__ = [
    "InstalledStrategies",
    "RebalanceNotPlannable",
    "RebalanceParams",
    "RebalancePreview",
    "StrategyCatalog",
    "basket_assets",
    "preview_rebalance",
    "rebalance_params",
]

_MAX_DEPTH = 8
_MAX_ITEMS = 1000


class StrategyCatalog(Protocol):
    def names(self) -> list[str]:
        """The installed strategies, sorted."""
        ...

    def params_schema(self, name: str) -> dict[str, Any]:
        """The JSON schema of strategy `name`'s parameters."""
        ...

    def validate(self, name: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """`params` checked against strategy `name` and completed with its defaults, as
        JSON-ready data (decimals as strings); raises a 422 `ApiError` naming the field
        (`strategy`, or `params.<field>`)."""
        ...

    def require_listed(
        self, name: str, params: Mapping[str, Any], venue: str, listed: Collection[str]
    ) -> None:
        """Raise a 422 `ApiError` naming the parameter (`params.symbol`,
        `params.basket[1]` …) that holds a symbol `venue` does not list; `params` are
        ones `validate` returned."""
        ...


class InstalledStrategies:
    """The strategies `tradewind.strategies.registry` finds (built-ins and plug-ins)."""

    def __init__(self, strategies: Mapping[str, type[Strategy]] | None = None) -> None:
        self._strategies = dict(load_strategies() if strategies is None else strategies)

    def names(self) -> list[str]:
        return sorted(self._strategies)

    def params_schema(self, name: str) -> dict[str, Any]:
        return self._get(name).params_schema()

    def validate(self, name: str, params: Mapping[str, Any]) -> dict[str, Any]:
        cls = self._get(name)
        _check_plain(params, "params", 0)
        try:
            parsed = cls.parse_params(params)
        except InvalidParams as exc:
            field = "params" if exc.field in ("", "$") else f"params.{exc.field}"
            raise ApiError(422, f"{field}: {exc.problem}", field=field) from None
        except (ValueError, TypeError, ArithmeticError) as exc:
            # A plug-in's own checks may fail in ways of their own; still the user's input.
            problem = f"not accepted by strategy {name!r} ({type(exc).__name__})"
            raise ApiError(422, f"params: {problem}", field="params") from None
        normalised: dict[str, Any] = msgspec.to_builtins(parsed)
        return normalised

    def require_listed(
        self, name: str, params: Mapping[str, Any], venue: str, listed: Collection[str]
    ) -> None:
        cls = self._get(name)
        try:
            symbols = cls(cls.parse_params(params)).symbols()
        except Exception as exc:  # a plug-in's constructor may raise anything
            problem = f"not accepted by strategy {name!r} ({type(exc).__name__})"
            raise ApiError(422, f"params: {problem}", field="params") from None
        for symbol in symbols:
            if symbol not in listed:
                field = _field_holding(params, symbol)
                raise ApiError(422, f"{field}: must be a symbol {venue} lists", field=field)

    def _get(self, name: str) -> type[Strategy]:
        cls = self._strategies.get(name)
        if cls is None:
            known = ", ".join(self.names())
            raise ApiError(
                422, f"strategy: unknown strategy {name!r}; installed: {known}", field="strategy"
            )
        return cls


def rebalance_params(strategy: str, params: Mapping[str, Any]) -> RebalanceParams:
    """A bot's stored `params` as the `rebalance` strategy reads them; 409 for a bot of
    another strategy, or for params the installed strategy no longer accepts."""
    if strategy != RebalanceStrategy.name:
        raise ApiError(
            409,
            f"the bot runs strategy {strategy!r}; only a {RebalanceStrategy.name!r} bot rebalances",
            code="not_a_rebalance_bot",
        )
    try:
        parsed = RebalanceStrategy.parse_params(params)
    except InvalidParams as exc:
        raise ApiError(
            409,
            f"the bot's stored params are not accepted by {strategy!r} now: {exc.field}: "
            f"{exc.problem}; recreate the bot",
            code="invalid_stored_params",
        ) from None
    assert isinstance(parsed, RebalanceParams)  # the strategy's own Params
    return parsed


def _field_holding(params: Mapping[str, Any], symbol: str) -> str:
    """The parameter that holds `symbol`: `params.symbol`, `params.basket[2]`, or
    `params` when no top-level field or list item holds it as it is."""
    for key, value in params.items():
        if value == symbol:
            return f"params.{key}"
        if isinstance(value, list | tuple) and symbol in value:
            return f"params.{key}[{list(value).index(symbol)}]"
    return "params"


def _check_plain(value: Any, where: str, depth: int) -> None:
    """Refuse what the database or a strategy could choke on: deep nesting, huge lists,
    text with NUL or other control characters, or lone UTF-16 surrogates."""
    if depth > _MAX_DEPTH:
        raise ApiError(422, f"{where}: nested too deeply", field=where)
    if isinstance(value, str):
        if any(ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in value):
            raise ApiError(
                422, f"{where}: control characters and lone surrogates are not allowed", field=where
            )
    elif isinstance(value, Mapping):
        if len(value) > _MAX_ITEMS:
            raise ApiError(422, f"{where}: too many fields", field=where)
        for key, item in value.items():
            _check_plain(key, where, depth + 1)
            _check_plain(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        if len(value) > _MAX_ITEMS:
            raise ApiError(422, f"{where}: too many items", field=where)
        for position, item in enumerate(value):
            _check_plain(item, f"{where}[{position}]", depth + 1)
