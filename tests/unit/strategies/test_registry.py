"""The registry: built-ins always, plug-ins through the `tradewind.strategies` entry
points of installed distributions, and `create` validating names and parameters."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tradewind.strategies.dca import DcaStrategy
from tradewind.strategies.errors import InvalidParams, StrategyPluginError, UnknownStrategy
from tradewind.strategies.grid import GridStrategy
from tradewind.strategies.momentum import MomentumStrategy
from tradewind.strategies.rebalance import RebalanceStrategy
from tradewind.strategies.registry import create, load_strategies

from .plugin_strategy import EchoStrategy

BUILTINS = {
    "rebalance": RebalanceStrategy,
    "dca": DcaStrategy,
    "grid": GridStrategy,
    "momentum": MomentumStrategy,
}


def install_plugin(root: Path, monkeypatch: pytest.MonkeyPatch, *lines: str) -> None:
    """A real (if tiny) installed distribution on sys.path whose metadata registers
    `lines` in the group `tradewind.strategies`, as `pip install` would."""
    dist_info = root / "tradewind_plugin_test-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tradewind-plugin-test\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[tradewind.strategies]\n" + "\n".join(lines) + "\n"
    )
    monkeypatch.syspath_prepend(str(root))


def test_the_built_ins_are_there_without_any_entry_points() -> None:
    strategies = load_strategies()

    for name, cls in BUILTINS.items():
        assert strategies[name] is cls


def test_a_plugin_installed_as_an_entry_point_is_discovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin(
        tmp_path,
        monkeypatch,
        "echo = tests.unit.strategies.plugin_strategy:EchoStrategy",
        "dca = tradewind.strategies.dca:DcaStrategy",  # the built-in, registered again
    )

    strategies = load_strategies()

    assert strategies["echo"] is EchoStrategy
    assert strategies["dca"] is DcaStrategy


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("echo = tests.unit.strategies.no_such_module:EchoStrategy", "cannot be imported"),
        ("impostor = tests.unit.strategies.plugin_strategy:NotAStrategy", "not a Strategy"),
        ("other = tests.unit.strategies.plugin_strategy:EchoStrategy", "named 'echo'"),
    ],
)
def test_a_broken_plugin_is_reported_by_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, says: str
) -> None:
    install_plugin(tmp_path, monkeypatch, line)

    with pytest.raises(StrategyPluginError, match=says) as caught:
        load_strategies()
    assert line.split(" = ")[0] in str(caught.value)


def test_a_plugin_cannot_take_a_built_in_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin(tmp_path, monkeypatch, "grid = tests.unit.strategies.plugin_strategy:FakeGrid")

    with pytest.raises(StrategyPluginError, match="taken by"):
        load_strategies()


def test_create_builds_a_strategy_with_validated_params() -> None:
    strategy = create("dca", {"symbol": "ETH/BTC", "quote_amount": "0.01"})

    assert isinstance(strategy, DcaStrategy)
    assert strategy.params.quote_amount == Decimal("0.01")
    assert strategy.symbols() == ("ETH/BTC",)


def test_create_of_an_unknown_strategy_lists_the_known_ones() -> None:
    with pytest.raises(UnknownStrategy) as caught:
        create("martingale", {})

    message = str(caught.value)
    assert "unknown strategy 'martingale'" in message
    for name in BUILTINS:
        assert name in message


def test_create_with_bad_params_names_the_strategy_and_field() -> None:
    with pytest.raises(InvalidParams, match=r"^grid\.upper: must be above lower"):
        create(
            "grid",
            {"symbol": "ETH/BTC", "lower": "0.1", "upper": "0.05", "order_value": "0.01"},
        )
