"""Tradewind's packages import one another without a cycle.

The graph is read from the source with `ast`, so every import counts: module-level,
inside a function, under `if TYPE_CHECKING:`. A cycle between packages is a design
cycle whether or not Python happens to survive it at import time; an import hidden in
a function only hides it. The nodes are the ones `docs/architecture.md` draws: each
top-level package of `tradewind` (`domain`, `bus`, `runtime`, `app`, …), the top-level
modules (`cli`, `errors`), each service (`services.risk` …) and each venue package
(`venues.binance`, `venues.coinbase`, `venues.simulated`; the modules directly in
`tradewind/venues/` are the node `venues`)."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Set
from pathlib import Path

import tradewind

ROOT = Path(tradewind.__file__).parent

#: Packages whose sub-packages are nodes of their own.
SPLIT_PACKAGES = frozenset({"services", "venues"})

Graph = Mapping[str, Set[str]]


def node_of(module: str, root: Path = ROOT) -> str | None:
    """The graph node a dotted module name (`tradewind.services.risk.desk`) belongs
    to (`services.risk`), or None for a module outside tradewind or `tradewind` itself."""
    parts = module.split(".")
    if parts[0] != "tradewind" or len(parts) < 2:
        return None
    top = parts[1]
    if not (root / top).is_dir() and not (root / f"{top}.py").is_file():
        return None  # a name of `tradewind` itself (`from tradewind import __version__`)
    if top in SPLIT_PACKAGES and len(parts) > 2 and (root / top / parts[2]).is_dir():
        return f"{top}.{parts[2]}"
    return top


def module_name(path: Path, root: Path = ROOT) -> str:
    """The dotted name of a source file under `root` (the `tradewind` package)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path = ROOT) -> Iterator[str]:
    """Every module a source file imports, anywhere in it, relative imports resolved.
    `from package import name` yields `package.name` as well, since `name` may be a
    module of its own."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                base = ".".join(anchor[: len(anchor) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            yield source
            yield from (f"{source}.{alias.name}" for alias in node.names)


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Node -> the nodes it imports, from every `.py` file under `root`."""
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        source = node_of(module_name(path, root), root)
        if source is None:
            continue
        edges = graph.setdefault(source, set())
        for imported in imported_modules(path, root):
            target = node_of(imported, root)
            if target is not None and target != source:
                edges.add(target)
    return graph


def find_cycles(graph: Graph) -> list[list[str]]:
    """One cycle through each strongly connected component that has more than one
    node, as the list of nodes it passes (the first repeated at the end), sorted.

    Tarjan's algorithm finds the components; a breadth-first search inside each finds
    the shortest way back to its smallest node, so the message names a real path."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                lowlink[node] = min(lowlink[node], lowlink[target])
            elif target in on_stack:
                lowlink[node] = min(lowlink[node], index[target])
        if lowlink[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)

    cycles = []
    for component in components:
        if len(component) < 2:
            continue
        start = min(component)
        came_from: dict[str, str] = {}
        frontier = [start]
        while start not in came_from:
            following = []
            for node in frontier:
                for target in sorted(graph.get(node, ())):
                    if target in component and target not in came_from:
                        came_from[target] = node
                        following.append(target)
            frontier = following
        path = [start]
        while came_from[path[-1]] != start:
            path.append(came_from[path[-1]])
        path.append(start)
        cycles.append(path[::-1])
    return sorted(cycles)


def test_finds_a_cycle_and_names_its_path() -> None:
    graph = {
        "domain": set(),
        "bus": {"domain"},
        "runtime": {"bus", "services.risk"},
        "services.risk": {"gateway"},
        "gateway": {"runtime", "domain"},
        "cli": {"runtime"},
    }
    assert find_cycles(graph) == [["gateway", "runtime", "services.risk", "gateway"]]


def test_finds_each_cycle_once_and_none_in_a_tree() -> None:
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c", "a"}, "e": {"a"}}
    assert find_cycles(graph) == [["a", "b", "a"], ["c", "d", "c"]]
    assert find_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_the_graph_reads_every_kind_of_import(tmp_path: Path) -> None:
    package = tmp_path / "tradewind"
    (package / "services" / "risk").mkdir(parents=True)
    (package / "runtime").mkdir()
    (package / "gateway").mkdir()
    for empty in ("__init__.py", "cli.py", "errors.py", "gateway/__init__.py", "gateway/app.py"):
        (package / empty).write_text("")
    (package / "services" / "__init__.py").write_text("")
    (package / "services" / "risk" / "__init__.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from tradewind.gateway import app\n"
        "def later() -> None:\n"
        "    import tradewind.cli\n"
        "from ...runtime import service\n"
    )
    (package / "runtime" / "__init__.py").write_text("from tradewind import __version__, errors\n")
    graph = import_graph(package)
    assert graph["services.risk"] == {"gateway", "cli", "runtime"}
    assert graph["runtime"] == {"errors"}  # `__version__` is no package


def test_tradewinds_packages_import_one_another_without_a_cycle() -> None:
    graph = import_graph()
    assert {"domain", "runtime", "app", "demo", "services.risk", "venues.binance"} <= set(graph)
    cycles = find_cycles(graph)
    assert not cycles, "import cycles between packages:\n" + "\n".join(
        " -> ".join(cycle) for cycle in cycles
    )
