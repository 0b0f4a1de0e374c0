"""Venue adapters are plug-ins: a package outside Tradewind's tree that publishes a
`VenueAdapter` under the entry-point group `tradewind.venues` is declarable in
TRADEWIND_VENUES, and execution paces it by its own published limits, with no change to
the core. The package installed here is the template of docs/venues/adapters.md, read
from that file, so the documented template is what is proved."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradewind.errors import ConfigError, DuplicateClientOrderId, RateLimited
from tradewind.runtime.service_settings import ExecutionSettings
from tradewind.services.execution.service import pacing
from tradewind.venues import adapters, binance, catalog, coinbase
from tradewind.venues.directory import CcxtVenues
from tradewind.venues.port import VenueOrderStatus
from tradewind.venues.profile import Call

DOC = Path(__file__).resolve().parents[3] / "docs" / "venues" / "adapters.md"
TEMPLATE = re.compile(r"<!-- template:begin -->\n```python\n(.*?)```\n<!-- template:end -->", re.S)


def template() -> str:
    found = TEMPLATE.search(DOC.read_text(encoding="utf-8"))
    assert found, f"{DOC} lost its template block"
    return found.group(1)


def install(root: Path, module: str, code: str, entry_points: str) -> None:
    """A distribution on `root` as pip would leave it: the module and its metadata."""
    (root / f"{module}.py").write_text(code, encoding="utf-8")
    info = root / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on the import path for plug-ins; each test's own modules (none kept
    from another test's import)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in ("tradewind_examplex", "tw_broken"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    adapters.installed.cache_clear()
    yield tmp_path
    adapters.installed.cache_clear()


def test_the_documented_template_is_an_installable_exchange(plugins: Path) -> None:
    install(
        plugins, "tradewind_examplex", template(),
        '[tradewind.venues]\nexamplex = tradewind_examplex:ADAPTER\n',
    )  # fmt: skip
    (spec,) = catalog.parse_venues("kr=examplex")
    assert (spec.name, spec.ccxt_id, spec.sandbox) == ("kr", "kraken", False)
    profile = spec.venue_adapter.profile
    # Execution paces it by its own limits, each call by its own cost.
    rules = pacing(ExecutionSettings(), CcxtVenues({}, (spec,)))("kr")
    assert rules is not None and rules is profile.limits
    assert (rules.cost(Call.FETCH_ALL_OPEN_ORDERS), rules.cost(Call.PLACE_ORDER)) == (2, 1)
    limits = catalog.limits(spec)
    assert limits.ip_windows == rules.per_address
    assert limits.order_windows == rules.per_account
    assert "api.kraken.com" in catalog.hosts(spec)
    # Its refusals and statuses read as it says.
    assert profile.refusal(None, 'kraken {"error":["EOrder:Duplicate"]}') is not None
    assert profile.statuses["closed"] is VenueOrderStatus.FILLED
    check = spec.venue_adapter.read_key_check
    assert check is not None
    assert check({"permissions": ["trade", "withdraw"]}).refusal is not None
    assert check({"permissions": ["trade"]}).refusal is None


def test_its_refusals_become_the_platforms_errors(plugins: Path) -> None:
    import ccxt.async_support as ccxt  # type: ignore[import-untyped]

    from tradewind.venues.ccxt_mapping import venue_error_from_ccxt

    install(
        plugins, "tradewind_examplex", template(),
        '[tradewind.venues]\nexamplex = tradewind_examplex:ADAPTER\n',
    )  # fmt: skip
    profile = adapters.adapter("examplex").profile
    duplicate = venue_error_from_ccxt(
        "kr", ccxt.InvalidOrder("kraken EOrder:Duplicate order"), profile=profile
    )
    assert isinstance(duplicate, DuplicateClientOrderId)
    limited = venue_error_from_ccxt(
        "kr", ccxt.RateLimitExceeded("kraken EOrder:Rate limit exceeded"), profile=profile
    )
    assert isinstance(limited, RateLimited) and limited.per_account
    # The same words mean nothing to another venue's profile.
    other = venue_error_from_ccxt(
        "bn", ccxt.InvalidOrder("kraken EOrder:Duplicate order"),
        profile=adapters.adapter("binance").profile,
    )  # fmt: skip
    assert not isinstance(other, DuplicateClientOrderId)


@pytest.mark.parametrize(
    ("code", "entry", "problem"),
    [
        ("raise ImportError('no such lib')\n", "broken = tw_broken:ADAPTER",
         "broken = tw_broken:ADAPTER cannot be imported: ImportError: no such lib"),
        ("ADAPTER = object()\n", "broken = tw_broken:ADAPTER",
         "must be a VenueAdapter named 'broken'"),
        ("from tradewind.venues.binance import BINANCE as ADAPTER\n",
         "broken = tw_broken:ADAPTER", "must be a VenueAdapter named 'broken'"),
        ("from tradewind.venues.binance import TESTNET\n"
         "import dataclasses\nADAPTER = dataclasses.replace(TESTNET, name='binance')\n",
         "binance = tw_broken:ADAPTER", "the name 'binance' is taken"),
    ],
)  # fmt: skip
def test_a_broken_plugin_is_a_configuration_error_naming_it(
    plugins: Path, code: str, entry: str, problem: str
) -> None:
    install(plugins, "tw_broken", code, f"[tradewind.venues]\n{entry}\n")
    with pytest.raises(ConfigError, match="TRADEWIND_VENUES") as caught:
        catalog.parse_venues("x=binance")
    assert problem in str(caught.value)


def test_the_builtin_adapters_are_registered_as_entry_points() -> None:
    from importlib.metadata import entry_points

    registered = {point.name: point.load() for point in entry_points(group=adapters.GROUP)}
    builtin = (binance.BINANCE, binance.TESTNET, coinbase.COINBASE, coinbase.SANDBOX)
    assert registered == {adapter.name: adapter for adapter in builtin}
