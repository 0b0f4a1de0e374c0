"""Nothing outside the adapter packages knows one exchange from another.

Binance's and Coinbase's specifics live in `tradewind/venues/binance/`,
`tradewind/venues/coinbase/` and the simulator that serves their APIs
(`tradewind/venues/simulated/`); everything else reaches them through the adapter
(`VenueProfile`, `VenueAdapter`) or the simulator's registry of served APIs
(`venues.simulated.apis`). This test reads every other module with `ast` and fails on
what would be exchange-specific logic:

- an identifier naming an exchange (a variable, attribute, function, class, parameter,
  keyword or imported name: `BINANCE_RATE_LIMITS`, `coinbase_key_account`), an import
  of an exchange's module (`tradewind.venues.coinbase`);
- a string that names an exchange or one of their APIs' marks (a path such as
  `/api/v3/…` or `…/brokerage/…`, a header such as `X-MBX-…` or `CB-ACCESS-…`): a value
  the code works with (`"coinbase"`, `"coinbase+"`, `"sapi_get_…"`).

Comments and docstrings are for people and may name an exchange as an example; so may
prose (a string with spaces: a help text, an error message) unless the code compares it,
looks it up or keys by it. `ALLOWED` lists the few names that are configuration, each
with the reason."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "tradewind"
ADAPTERS = tuple(PACKAGE / "venues" / name for name in ("binance", "coinbase", "simulated"))

#: An exchange's name, or a mark of one of their APIs (Binance's `/api/v3`, `/sapi`,
#: `apiRestrictions`, `newOrderRespType`, `listenKey`, `X-MBX-` headers; Coinbase's
#: `brokerage` routes and `CB-ACCESS-` headers).
NAMES = re.compile(r"binance|coinbase", re.IGNORECASE)
MARKS = re.compile(
    r"/api/v3|/sapi/|sapi_|apirestrictions|neworderresptype|listenkey|x-mbx-|brokerage|"
    r"cb-access-",
    re.IGNORECASE,
)

#: (module, function, name) allowed outside the adapter packages, with the reason.
#: `function` is the innermost enclosing function or class ("" at module level).
ALLOWED = {
    # `tradewind up --coinbase-port`: the user says where the Coinbase-style simulated
    # exchange's API is served. The option's name is configuration a user types (the
    # README and e2e use it), and `up` hands it on keyed by the served API's name
    # (`EmbeddedOptions.api_ports`), as an adapter is chosen by its name.
    ("tradewind/cli.py", "up", "coinbase_port"),
    ("tradewind/cli.py", "up", "--coinbase-port"),
    ("tradewind/cli.py", "up", "coinbase"),
}


def modules() -> Iterator[Path]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if not any(adapter in path.parents for adapter in ADAPTERS):
            yield path


def documentation(tree: ast.AST) -> set[int]:
    """The ids of the string nodes that are docstrings: a module's, class's or
    function's, and the attribute docstrings (a string alone as a statement)."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


_LOOKUPS = frozenset(
    {"startswith", "endswith", "removeprefix", "removesuffix", "get", "find", "index",
     "count", "replace", "split", "partition", "pop", "setdefault"}
)  # fmt: skip


def used_as_value(tree: ast.AST) -> set[int]:
    """The ids of the string nodes the code compares, looks up, keys a dict by or
    matches on: a value even when it reads as prose."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            found.update(id(n) for n in (node.left, *node.comparators))
        elif isinstance(node, ast.Subscript):
            found.add(id(node.slice))
        elif isinstance(node, ast.Dict):
            found.update(id(key) for key in node.keys if key is not None)
        elif isinstance(node, ast.MatchValue):
            found.add(id(node.value))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) in _LOOKUPS:
            found.update(id(arg) for arg in node.args)  # `url.startswith("…")`, `.get("…")`
    return found


def names_in(node: ast.AST) -> Iterator[str]:
    """The identifiers `node` itself introduces or uses."""
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Attribute):
        yield node.attr
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield node.name
    elif isinstance(node, ast.arg | ast.keyword) and node.arg is not None:
        yield node.arg
    elif isinstance(node, ast.alias):
        yield node.name
        if node.asname is not None:
            yield node.asname
    elif isinstance(node, ast.ImportFrom) and node.module is not None:
        yield node.module


def specifics(source: str, filename: str = "<source>") -> list[tuple[str, int, str]]:
    """(enclosing function or class, line, name) of every exchange-specific identifier
    or string in `source`."""
    tree = ast.parse(source, filename)
    docs, values = documentation(tree), used_as_value(tree)
    found: list[tuple[str, int, str]] = []

    def visit(node: ast.AST, scope: str) -> None:
        for name in names_in(node):
            if NAMES.search(name):
                found.append((scope, getattr(node, "lineno", 0), name))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            text = node.value
            prose = any(c.isspace() for c in text.strip()) and id(node) not in values
            if not prose and (NAMES.search(text) or MARKS.search(text)):
                found.append((scope, node.lineno, text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            scope = node.name
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(tree, "")
    return found


def test_no_module_outside_the_adapter_packages_has_exchange_specific_logic() -> None:
    found, allowed_seen = [], set()
    for path in modules():
        module = str(path.relative_to(PACKAGE.parent))
        for scope, line, name in specifics(path.read_text(encoding="utf-8"), module):
            if (module, scope, name) in ALLOWED:
                allowed_seen.add((module, scope, name))
            else:
                found.append(f"{module}:{line} ({scope or 'module'}): {name!r}")
    assert not found, (
        "exchange specifics outside tradewind/venues/{binance,coinbase,simulated}/ (move "
        "them into the adapter's profile or the simulator's registry):\n" + "\n".join(found)
    )
    assert allowed_seen == ALLOWED, f"allowed but no longer there: {ALLOWED - allowed_seen}"


@pytest.mark.parametrize(
    "source",
    [
        'if state.api == "coinbase":\n    pass',
        'NAMES = {"binance": "Binance API"}',
        "from tradewind.venues.simulated.server.weights import BINANCE_RATE_LIMITS",
        "from tradewind.venues.coinbase import from_key_permissions",
        "def coinbase_key_account(keys):\n    pass",
        'PATH = "/api/v3/brokerage/key_permissions"',
        'method = "sapi_get_account_apirestrictions"',
        'if url.startswith("coinbase+"):\n    pass',
        'if "Binance API" in title:\n    pass',
        'title = TITLES.get("Coinbase Advanced Trade API")',
        'prefixes = {"kraken": 1, "Coinbase Advanced": 2}',
        'def serve(api="binance"):\n    pass',
    ],
)
def test_exchange_specific_logic_is_found(source: str) -> None:
    assert specifics(source), source


@pytest.mark.parametrize(
    "source",
    [
        "# Binance numbers each market's trades\nx = 1",
        'def f():\n    """Coinbase pages newest first."""',
        'LIMIT = 5\n"""As Binance publishes it."""',
        "HELP = \"Lift the rate limits: Binance's request weight, or Coinbase's.\"",
        'raise ValueError(f"{venue}: Coinbase refused it")',
        'venue = "sim"\nadapter = spec.adapter',
    ],
)
def test_comments_docstrings_prose_and_neutral_code_pass(source: str) -> None:
    assert not specifics(source), source
