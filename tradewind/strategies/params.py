"""Strategy parameters: a frozen msgspec Struct per strategy, its checks, and parsing
from the plain JSON-like dict a user sends (through the gateway) into that Struct.

Decimals may be given as strings (`"0.05"`), ints or JSON numbers; msgspec keeps a JSON
number's digits exactly, and a Python float is read through its shortest repr.

Every parameter is bounded where it is declared, so the bounds are in the JSON schema
(`Strategy.params_schema`, shown by `GET /api/v1/strategies`) and checked wherever the
params are parsed (the gateway, the strategy service loading a bot, backtests):
integers with `msgspec.Meta(ge=…, le=…)`, text with a `pattern`, decimals with
`decimal_range` (finite, within [minimum, maximum], at most `places` decimal places; the
aliases `Amount`, `Price`, `Fraction` cover most). A strategy's own `__post_init__`
calls `super().__post_init__()` first, then checks what involves several fields.

Whatever a plug-in declares, `parse_params` refuses any number no strategy can use
(NaN, infinities, magnitudes over 10^18, more than 18 decimal places): decimal
arithmetic on such values overflows, and an overflowing strategy only gets paused.
Refusals name the field and the bound, never the value sent.
"""

from __future__ import annotations

import functools
import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin, get_type_hints

import msgspec

from tradewind.domain.model import Instrument
from tradewind.strategies.errors import InvalidParams, ParamError

#: The largest amount of quote, and the highest price, a parameter may hold.
MAX_AMOUNT = Decimal(10) ** 12
#: Decimal places a decimal parameter may have (more than any venue's step or tick).
MAX_PLACES = 18
#: Bound on any number in any strategy's params, declared or not.
MAX_ANY_NUMBER = 10**18
#: The longest schedule interval: 30 days, in seconds.
MAX_INTERVAL_S = 30 * 86_400
#: The most symbols one bot may trade.
MAX_SYMBOLS = 100

#: An asset code as venues and ccxt spell them: BTC, USDT, 1000SHIB, stETH.
ASSET_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$"
#: A unified spot symbol, `BASE/QUOTE`. Whether the venue lists it is checked where the
#: venue is known (the gateway when a bot is created, the strategy service on load).
SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}/[A-Za-z0-9][A-Za-z0-9._-]{0,19}$"

_RANGE_KEY = "tradewind.decimal_range"


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    return max(0, -exponent)


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True)
class DecimalRange:
    """The values a decimal parameter may take: finite, `minimum` <= value (or <, when
    `above_minimum`) <= `maximum`, at most `places` decimal places."""

    minimum: Decimal
    maximum: Decimal
    above_minimum: bool = False
    places: int = MAX_PLACES

    def problem(self, value: Decimal) -> str | None:
        """What is wrong with `value` (naming the bound, not the value), or None."""
        if not value.is_finite():
            return "must be a finite number"
        if self.above_minimum and value <= self.minimum:
            return f"must be greater than {self.minimum}"
        if value < self.minimum:
            return f"must be at least {self.minimum}"
        if value > self.maximum:
            return f"must be at most {self.maximum}"
        if _places(value) > self.places:
            return f"must have at most {self.places} decimal places"
        return None

    def json_schema(self) -> dict[str, Any]:
        # JSON Schema bounds are numbers; the check itself is exact, on Decimals.
        low = "exclusiveMinimum" if self.above_minimum else "minimum"
        return {
            low: _json_number(self.minimum),
            "maximum": _json_number(self.maximum),
            "x-decimal-places": self.places,
        }


def decimal_range(
    minimum: Decimal | int | str,
    maximum: Decimal | int | str,
    *,
    above_minimum: bool = False,
    places: int = MAX_PLACES,
) -> msgspec.Meta:
    """Annotation metadata bounding a Decimal field: `Annotated[Decimal, decimal_range(0,
    1)]`. It adds the bounds to the JSON schema; `StrategyParams` enforces them."""
    bounds = DecimalRange(Decimal(minimum), Decimal(maximum), above_minimum, places)
    return msgspec.Meta(extra_json_schema=bounds.json_schema(), extra={_RANGE_KEY: bounds})


#: Quote spent per order or per period: > 0, <= 10^12.
Amount = Annotated[Decimal, decimal_range(0, MAX_AMOUNT, above_minimum=True)]
#: A price in quote per base: > 0, <= 10^12.
Price = Annotated[Decimal, decimal_range(0, MAX_AMOUNT, above_minimum=True)]
#: A fraction in [0, 1] (0.05 = 5%).
Fraction = Annotated[Decimal, decimal_range(0, 1)]
#: A fraction in (0, 1].
PositiveFraction = Annotated[Decimal, decimal_range(0, 1, above_minimum=True)]
Symbol = Annotated[str, msgspec.Meta(pattern=SYMBOL_PATTERN)]
Asset = Annotated[str, msgspec.Meta(pattern=ASSET_PATTERN)]
#: Seconds between scheduled actions: 1 s to 30 days.
IntervalS = Annotated[int, msgspec.Meta(ge=1, le=MAX_INTERVAL_S)]
P = TypeVar("P", bound="StrategyParams")


class StrategyParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every strategy's parameters. Subclasses declare bounded fields with
    defaults and check cross-field rules in `__post_init__` (after calling this class's),
    raising `ParamError(field, problem)`."""

    def __post_init__(self) -> None:
        check_declared_ranges(self)


def parse_params(strategy: str, params_type: type[P], raw: Mapping[str, Any]) -> P:
    """`raw` converted to `params_type`; raises `InvalidParams` naming the bad field."""
    try:
        params = msgspec.convert(dict(raw), type=params_type, strict=False)
        check_declared_ranges(params)  # again: a plug-in's __post_init__ may skip super()'s
        _check_any_number(params, "")
    except msgspec.ValidationError as error:
        cause = error.__cause__
        if isinstance(cause, ParamError):
            raise InvalidParams(strategy, cause.field, cause.problem) from None
        field, problem = _split_validation_message(str(error))
        raise InvalidParams(strategy, field, problem) from None
    except ParamError as error:  # raised outside msgspec's decoding, e.g. by a default
        raise InvalidParams(strategy, error.field, error.problem) from None
    return params


def check_declared_ranges(params: StrategyParams) -> None:
    """Raise `ParamError` for the first field outside its declared `decimal_range`
    (looked for through `| None`, tuples, lists and dict values)."""
    for name, hint in _type_hints(type(params)).items():
        _check_range(name, hint, getattr(params, name))


@functools.cache
def _type_hints(params_type: type[StrategyParams]) -> dict[str, Any]:
    return get_type_hints(params_type, include_extras=True)


def _check_range(path: str, hint: Any, value: Any) -> None:
    origin = get_origin(hint)
    if origin is Annotated:
        base, *metadata = get_args(hint)
        for meta in metadata:
            bounds = (meta.extra or {}).get(_RANGE_KEY) if isinstance(meta, msgspec.Meta) else None
            if isinstance(bounds, DecimalRange) and isinstance(value, Decimal):
                problem = bounds.problem(value)
                if problem is not None:
                    raise ParamError(path, problem)
        _check_range(path, base, value)
    elif origin in (Union, types.UnionType):
        for option in get_args(hint):
            _check_range(path, option, value)
    elif origin in (dict, Mapping) and isinstance(value, Mapping):
        item_hint = get_args(hint)[1]
        for key, item in value.items():
            _check_range(f"{path}.{key}", item_hint, item)
    elif origin in (tuple, list) and isinstance(value, tuple | list):
        item_hint = get_args(hint)[0]
        for position, item in enumerate(value):
            _check_range(f"{path}[{position}]", item_hint, item)


def _check_any_number(value: Any, path: str) -> None:
    """Refuse numbers no strategy can compute with, wherever they are in `value`."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ParamError(path or "$", "must be a finite number")
        if value.copy_abs() > MAX_ANY_NUMBER:  # abs() would round, and overflow
            raise ParamError(path or "$", f"must be at most {MAX_ANY_NUMBER} in size")
        if _places(value) > MAX_PLACES:
            raise ParamError(path or "$", f"must have at most {MAX_PLACES} decimal places")
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_ANY_NUMBER:
            raise ParamError(path or "$", f"must be at most {MAX_ANY_NUMBER} in size")
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            _check_any_number(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_any_number(item, f"{path}.{key}")
    elif isinstance(value, tuple | list | set | frozenset):
        for position, item in enumerate(value):
            _check_any_number(item, f"{path}[{position}]")


_PATTERN_MEANINGS = {
    SYMBOL_PATTERN: "must be a symbol of the form BASE/QUOTE, e.g. BTC/USDT",
    ASSET_PATTERN: "must be an asset code of letters and digits, e.g. USDT",
}
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
    if problem.startswith("Invalid enum value"):  # msgspec quotes the value sent
        problem = "must be one of the values the schema lists"
    for pattern, meaning in _PATTERN_MEANINGS.items():
        problem = problem.replace(f"Expected `str` matching regex {pattern!r}", meaning)
    return (path.replace("[...]", "") or "$"), problem


# -- checks used by the Params structs' __post_init__ ---------------------------------


# Plug-ins written before `decimal_range` use these; they name the bound, not the value.


def require_finite(field: str, value: Decimal) -> None:
    if not value.is_finite():
        raise ParamError(field, "must be a finite number")


def require_positive(field: str, value: Decimal) -> None:
    require_finite(field, value)
    if value <= 0:
        raise ParamError(field, "must be greater than 0")


def require_at_least(field: str, value: Decimal, minimum: Decimal) -> None:
    require_finite(field, value)
    if value < minimum:
        raise ParamError(field, f"must be at least {minimum}")


def require_fraction(
    field: str, value: Decimal, *, allow_zero: bool = True, maximum: Decimal = Decimal(1)
) -> None:
    """`value` within [0, maximum] (or (0, maximum] when zero is not allowed)."""
    require_finite(field, value)
    low_ok = value >= 0 if allow_zero else value > 0
    if not low_ok or value > maximum:
        bracket = "[0" if allow_zero else "(0"
        raise ParamError(field, f"must be in {bracket}, {maximum}]")


def require_symbol(field: str, symbol: str, quote: str | None = None) -> Instrument:
    """`symbol` parsed as `BASE/QUOTE` (venue left empty), quoted in `quote` if given."""
    if not _SYMBOL.fullmatch(symbol):
        raise ParamError(field, "must be a symbol of the form BASE/QUOTE, e.g. BTC/USDT")
    instrument = Instrument.parse("", symbol)
    if quote is not None and instrument.quote != quote:
        raise ParamError(field, "must be quoted in the asset `quote` names")
    return instrument


def require_known_keys(field: str, keys: Iterable[str], allowed: Iterable[str]) -> None:
    if set(keys) - set(allowed):
        raise ParamError(field, "names symbols that are not in the basket")


_SYMBOL = re.compile(SYMBOL_PATTERN)
