"""Every SQL statement lives in `tradewind.store`: no module outside it imports
SQLAlchemy, a database driver, Alembic or the schema's tables. Services and the gateway
call the store's functions (taking a `store.database.Connection`) and keep only the
logic of what to store when; a query written elsewhere would be a second home for it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tradewind"
STORE = PACKAGE / "store"

#: Imports only the store may make: the SQL toolkit, the drivers, the migrations, the
#: schema's table objects.
FORBIDDEN = ("sqlalchemy", "asyncpg", "aiosqlite", "alembic", "tradewind.store.schema")

#: (module, import) made outside the store on purpose, with the reason.
ALLOWED = {
    # The chaos harness creates and drops whole databases on the PostgreSQL server of an
    # administrator's URL before any schema exists (and so before the store can connect
    # to them): server administration, not the system of record.
    ("tradewind/chaos/command.py", "asyncpg"),
}


def forbidden_imports(path: Path) -> list[str]:
    """The forbidden modules `path` imports (at any depth in it, lazy imports too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            found += [f for f in FORBIDDEN if name == f or name.startswith(f"{f}.")]
    return sorted(set(found))


def test_no_module_outside_the_store_imports_sql_or_the_schema() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(STORE):
            continue
        where = path.relative_to(PACKAGE.parent).as_posix()
        offenders += [
            f"{where} imports {name}"
            for name in forbidden_imports(path)
            if (where, name) not in ALLOWED
        ]
    assert offenders == [], (
        "SQL belongs in tradewind/store/ (add a function there and call it): "
        + "; ".join(offenders)
    )


def test_the_check_sees_each_form_of_import(tmp_path: Path) -> None:
    module = tmp_path / "example.py"
    module.write_text(
        "import sqlalchemy.engine\n"
        "from tradewind.store import schema\n"
        "def later():\n"
        "    from aiosqlite import connect\n",
        encoding="utf-8",
    )
    assert forbidden_imports(module) == ["aiosqlite", "sqlalchemy", "tradewind.store.schema"]


def test_every_allowed_import_is_still_made() -> None:
    stale = [
        (where, name)
        for where, name in ALLOWED
        if name not in forbidden_imports(PACKAGE.parent / where)
    ]
    assert stale == [], f"allowed but no longer imported (drop them from ALLOWED): {stale}"
