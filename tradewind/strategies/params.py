"""Strategy parameters: a frozen msgspec Struct per strategy, its checks, and parsing
from the plain JSON-like dict a user sends (through the gateway) into that Struct.

Decimals may be given as strings (`"0.05"`), ints or JSON numbers; msgspec keeps a JSON
number's digits exactly, and a Python float is read through its shortest repr.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from tradewind.domain.model import Instrument
from tradewind.strategies.errors import InvalidParams, ParamError

P = TypeVar("P", bound="StrategyParams")


class StrategyParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every strategy's parameters. Subclasses declare fields with defaults and
    check cross-field rules in `__post_init__`, raising `ParamError(field, problem)`."""


def parse_params(strategy: str, params_type: type[P], raw: Mapping[str, Any]) -> P:
    """`raw` converted to `params_type`; raises `InvalidParams` naming the bad field."""
    try:
        return msgspec.convert(dict(raw), type=params_type, strict=False)
    except msgspec.ValidationError as error:
        cause = error.__cause__
        if isinstance(cause, ParamError):
            raise InvalidParams(strategy, cause.field, cause.problem) from None
        field, problem = _split_validation_message(str(error))
        raise InvalidParams(strategy, field, problem) from None
    except ParamError as error:  # raised outside msgspec's decoding, e.g. by a default
        raise InvalidParams(strategy, error.field, error.problem) from None


_AT_PATH = re.compile(r"^(?P<problem>.*) - at `\$\.?(?P<path>[^`]*)`$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"unknown field `(?P<field>[^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `(?P<field>[^`]+)`")


def _split_validation_message(message: str) -> tuple[str, str]:
    """msgspec's "Expected `int`, got `str` - at `$.levels`" as ("levels", "Expected ...")."""
    problem, path = message, ""
    located = _AT_PATH.match(message)
    if located:
        problem, path = located["problem"], located["path"]
    named = _UNKNOWN_FIELD.search(problem) or _MISSING_FIELD.search(problem)
    if named:
        path = f"{path}.{named['field']}" if path else named["field"]
    return (path.replace("[...]", "") or "$"), problem


# -- checks used by the Params structs' __post_init__ ---------------------------------


def require_finite(field: str, value: Decimal) -> None:
    if not value.is_finite():
        raise ParamError(field, f"must be a finite number, got {value}")


def require_positive(field: str, value: Decimal) -> None:
    require_finite(field, value)
    if value <= 0:
        raise ParamError(field, f"must be greater than 0, got {value}")


def require_at_least(field: str, value: Decimal, minimum: Decimal) -> None:
    require_finite(field, value)
    if value < minimum:
        raise ParamError(field, f"must be at least {minimum}, got {value}")


def require_fraction(
    field: str, value: Decimal, *, allow_zero: bool = True, maximum: Decimal = Decimal(1)
) -> None:
    """`value` within [0, maximum] (or (0, maximum] when zero is not allowed)."""
    require_finite(field, value)
    low_ok = value >= 0 if allow_zero else value > 0
    if not low_ok or value > maximum:
        bracket = "[0" if allow_zero else "(0"
        raise ParamError(field, f"must be in {bracket}, {maximum}], got {value}")


def require_symbol(field: str, symbol: str, quote: str | None = None) -> Instrument:
    """`symbol` parsed as `BASE/QUOTE` (venue left empty), quoted in `quote` if given."""
    try:
        instrument = Instrument.parse("", symbol)
    except ValueError as error:
        raise ParamError(field, str(error)) from None
    if quote is not None and instrument.quote != quote:
        raise ParamError(field, f"{symbol} is not quoted in {quote}")
    return instrument


def require_known_keys(field: str, keys: Iterable[str], allowed: Iterable[str]) -> None:
    unknown = sorted(set(keys) - set(allowed))
    if unknown:
        raise ParamError(field, f"{', '.join(unknown)} not in the basket")
