"""The strategy plug-ins' errors, in Tradewind's one hierarchy (`tradewind.errors`)."""

from __future__ import annotations

from tradewind.errors import ConfigError, TradewindError


class ParamError(TradewindError, ValueError):
    """A parameter's value is wrong; raised by a `Params` struct's own checks.

    It is a `ValueError` so that msgspec, while decoding, keeps it as the cause of its
    `ValidationError`; `Strategy.parse_params` turns either into `InvalidParams`.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"`{field}`: {problem}")


class InvalidParams(ConfigError):
    """A bot's parameters do not fit its strategy; `field` names the parameter (a path
    such as `weights` or `basket[2]`, or `$` when the whole object is wrong)."""

    def __init__(self, strategy: str, field: str, problem: str) -> None:
        self.strategy = strategy
        self.field = field
        super().__init__(f"{strategy}.{field}", problem)


class UnknownStrategy(ConfigError):
    """No strategy of that name is installed; the message lists the known ones."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(
            "strategy", f"unknown strategy {name!r}; known strategies: {', '.join(known)}"
        )


class StrategyPluginError(ConfigError):
    """An installed strategy entry point cannot be loaded or is not a `Strategy`."""

    def __init__(self, entry_point: str, problem: str) -> None:
        super().__init__(f"entry point {entry_point}", problem)


class StrategyStateError(TradewindError):
    """A saved strategy state cannot be restored (another strategy's, another version's,
    or corrupt). Start the bot from a fresh state or migrate the saved one."""
