"""Every setting of the tree as one table (variable, default, bounds or choices,
description), made from the models themselves: what `tradewind settings` prints and
what docs/settings.md holds, so the two cannot drift from the code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic import SecretStr
from pydantic.fields import FieldInfo
from rich.table import Table
from rich.text import Text

from tradewind.runtime.settings import (
    CONFIG_FILE_VARIABLE,
    SECRETS_DIR_VARIABLE,
    all_fields,
    setting_name,
)

REGENERATE = "tradewind settings --markdown > docs/settings.md"
_HEADER = ("variable", "default", "bounds or choices", "description")
_INTRO = f"""# Settings

Every setting, from the environment, the settings file (`--config FILE` or
`{CONFIG_FILE_VARIABLE}`: `NAME=value` lines) or a file per setting in
`{SECRETS_DIR_VARIABLE}`; that is also the precedence, highest first, and options on the
command line win over all three. A `TRADEWIND_*` name in the settings file that is no
setting stops the start, as does a bad value, with one line naming the variable.

Generated from the settings' models by `{REGENERATE}`; do not edit
by hand.
"""


@dataclass(frozen=True, slots=True)
class SettingRow:
    """One setting as the table shows it."""

    variable: str
    default: str
    bounds: str
    description: str


def setting_rows() -> list[SettingRow]:
    """The rows: the settings file and secrets directory, then the root's fields and
    each service's section, in the models' order."""
    rows = [
        SettingRow(
            CONFIG_FILE_VARIABLE,
            "(unset)",
            "",
            "Settings file of NAME=value lines (dotenv), read when --config is not given",
        ),
        SettingRow(
            SECRETS_DIR_VARIABLE,
            "(unset)",
            "",
            "Directory of one file per setting, named like the variable, holding its value "
            "(mounted secrets); lowest precedence",
        ),
    ]
    for name, field in all_fields():
        if not field.description:
            raise ValueError(f"{setting_name(name)} has no description")
        rows.append(
            SettingRow(setting_name(name), _default(field), _bounds(field), field.description)
        )
    return rows


def settings_markdown() -> str:
    """docs/settings.md: an introduction and the table in markdown."""
    lines = [_INTRO, "| " + " | ".join(_HEADER) + " |", "|---|---|---|---|"]
    for row in setting_rows():
        cells = (f"`{row.variable}`", _code(row.default), _code(row.bounds), row.description)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def settings_rich_table() -> Table:
    """The table for a terminal (cells as plain text: descriptions hold brackets)."""
    table = Table(*_HEADER, title="Tradewind settings", show_lines=False)
    for row in setting_rows():
        table.add_row(
            Text(row.variable, style="bold"),
            Text(row.default),
            Text(row.bounds),
            Text(row.description),
        )
    return table


def _code(text: str) -> str:
    return f"`{text}`" if text and not text.startswith("(") else text


def _default(field: FieldInfo) -> str:
    value: Any = field.get_default(call_default_factory=True)
    if value is None or isinstance(value, SecretStr):
        return "(unset)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value).removesuffix(".0")
    if value == "":
        return "(empty)"
    return str(value)


def _bounds(field: FieldInfo) -> str:
    annotation = field.annotation
    if get_origin(annotation) is Literal:
        return ", ".join(str(choice) for choice in get_args(annotation))
    if annotation is bool:
        return "true, false"
    parts = []
    for item in field.metadata:
        if isinstance(item, annotated_types.Ge):
            parts.append(f">= {item.ge}")
        elif isinstance(item, annotated_types.Gt):
            parts.append(f"> {item.gt}")
        elif isinstance(item, annotated_types.Le):
            parts.append(f"<= {item.le}")
        elif isinstance(item, annotated_types.Lt):
            parts.append(f"< {item.lt}")
        elif isinstance(item, annotated_types.MinLen):
            parts.append(f"length >= {item.min_length}")
        elif isinstance(item, annotated_types.MaxLen):
            parts.append(f"length <= {item.max_length}")
        elif pattern := getattr(item, "pattern", None):
            parts.append(f"matches {pattern}")
    return ", ".join(parts)
