"""The installed strategies, by name, and building one from a bot's parameters.

Strategies are plug-ins: a package registers a `Strategy` subclass under the entry-point
group `tradewind.strategies` (name = the strategy's `name`). Tradewind registers its
built-ins the same way in its own `pyproject.toml`. Entry points live in the installed
package's metadata, which an editable install only refreshes when it is reinstalled
(`pip install -e .`); so the built-ins are also listed here and always available, and
the metadata, when present, can only confirm them, never replace them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from tradewind.strategies.api import Strategy
from tradewind.strategies.dca import DcaStrategy
from tradewind.strategies.errors import StrategyPluginError, UnknownStrategy
from tradewind.strategies.grid import GridStrategy
from tradewind.strategies.momentum import MomentumStrategy
from tradewind.strategies.rebalance import RebalanceStrategy

ENTRY_POINT_GROUP = "tradewind.strategies"

#: Tradewind's own strategies, available even when the package metadata is stale.
BUILTIN_STRATEGIES: Mapping[str, type[Strategy]] = {
    cls.name: cls for cls in (RebalanceStrategy, DcaStrategy, GridStrategy, MomentumStrategy)
}


def load_strategies() -> dict[str, type[Strategy]]:
    """Every installed strategy by name: the built-ins plus the entry points of group
    `tradewind.strategies`. Raises `StrategyPluginError` for an entry point that fails
    to import, is not a `Strategy` subclass, is registered under a name other than its
    class's `name`, or claims a name another class already has."""
    strategies = dict(BUILTIN_STRATEGIES)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        cls = _load(entry_point)
        known = strategies.get(entry_point.name)
        if known is not None and known is not cls:
            raise StrategyPluginError(
                _describe(entry_point),
                f"the name {entry_point.name!r} is taken by "
                f"{known.__module__}.{known.__qualname__}; register it under another name",
            )
        strategies[entry_point.name] = cls
    return strategies


def _load(entry_point: EntryPoint) -> type[Strategy]:
    where = _describe(entry_point)
    try:
        loaded: object = entry_point.load()
    except Exception as error:  # a plug-in's import can fail in any way; say which
        raise StrategyPluginError(
            where, f"cannot be imported: {type(error).__name__}: {error}"
        ) from error
    if not (isinstance(loaded, type) and issubclass(loaded, Strategy)):
        raise StrategyPluginError(where, f"{loaded!r} is not a Strategy subclass")
    if getattr(loaded, "name", None) != entry_point.name:
        raise StrategyPluginError(
            where,
            f"the class is named {getattr(loaded, 'name', None)!r}; the entry point's "
            "name must equal the class's `name`",
        )
    return loaded


def _describe(entry_point: EntryPoint) -> str:
    return f"{entry_point.name} = {entry_point.value}"


@functools.cache
def _installed() -> Mapping[str, type[Strategy]]:
    return load_strategies()


def create(name: str, params: Mapping[str, Any]) -> Strategy:
    """A fresh strategy `name` with validated `params` (a JSON-like dict; defaults fill
    what is left out). Raises `UnknownStrategy` listing the installed names, or
    `InvalidParams` naming the bad field."""
    strategies = _installed()
    cls = strategies.get(name)
    if cls is None:
        raise UnknownStrategy(name, sorted(strategies))
    return cls.from_params(params)
