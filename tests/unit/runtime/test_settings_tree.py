"""The services' settings are sections of the one tree: read by their own variables from
the environment, the settings file and the secrets directory, with the root's
precedence and errors, and listed, every one, by `tradewind settings`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tradewind.cli import app
from tradewind.domain.limits_document import DEFAULT_LIMITS
from tradewind.errors import ConfigError
from tradewind.runtime.settings import load_settings
from tradewind.runtime.settings_table import REGENERATE, setting_rows, settings_markdown

pytestmark = pytest.mark.usefixtures("clean_environment")

DOCS = Path(__file__).parents[3] / "docs" / "settings.md"


def settings_file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "tradewind.env"
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def test_a_section_setting_in_the_settings_file_reaches_its_service(tmp_path: Path) -> None:
    path = settings_file(tmp_path, "TRADEWIND_EXECUTION_MAX_RETRIES=3")
    assert load_settings(path).execution.execution_max_retries == 3


def test_a_section_setting_in_the_environment_reaches_its_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRADEWIND_EXECUTION_MAX_RETRIES", "3")
    monkeypatch.setenv("TRADEWIND_BAR_INTERVAL_S", "15")
    monkeypatch.setenv("TRADEWIND_STRATEGY_WARM_UP", "false")
    settings = load_settings()
    assert settings.execution.execution_max_retries == 3
    assert settings.marketdata.bar_interval_s == 15
    assert settings.strategy.strategy_warm_up is False


def test_a_section_setting_in_the_secrets_directory_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "TRADEWIND_RISK_DEDUPE_SIZE").write_text("77\n")
    monkeypatch.setenv("TRADEWIND_SECRETS_DIR", str(tmp_path))
    assert load_settings().risk.risk_dedupe_size == 77


def test_the_environment_beats_the_file_field_by_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = settings_file(
        tmp_path, "TRADEWIND_EXECUTION_MAX_RETRIES=3", "TRADEWIND_EXECUTION_CALL_TIMEOUT_S=4"
    )
    monkeypatch.setenv("TRADEWIND_EXECUTION_MAX_RETRIES", "5")
    execution = load_settings(path).execution
    assert execution.execution_max_retries == 5
    assert execution.execution_call_timeout_s == 4.0  # the file's, beside the environment's


def test_a_bad_section_value_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWIND_EXECUTION_MAX_RETRIES", "-1")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.setting == "TRADEWIND_EXECUTION_MAX_RETRIES"
    assert "greater than or equal to 0" in caught.value.problem


def test_a_bad_section_value_in_the_file_says_it_came_from_there(tmp_path: Path) -> None:
    path = settings_file(tmp_path, "TRADEWIND_MD_SYMBOLS=BTC/USDT,ETH")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.setting == "TRADEWIND_MD_SYMBOLS"
    assert caught.value.problem == (
        f"expected BASE/QUOTE or VENUE:BASE/QUOTE, got 'ETH' (set in {path})"
    )


def test_an_unknown_name_in_the_file_is_refused(tmp_path: Path) -> None:
    path = settings_file(tmp_path, "TRADEWIND_EXECUTION_MAX_RETIRES=3")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.setting == "TRADEWIND_EXECUTION_MAX_RETIRES"
    assert caught.value.problem.startswith(f"no such setting (in {path})")
    assert "TRADEWIND_EXECUTION_MAX_RETRIES" in caught.value.problem


def test_a_commands_default_gives_way_to_the_environment_and_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    defaults = {"bar_interval_s": 5}
    assert load_settings(defaults=defaults).marketdata.bar_interval_s == 5
    path = settings_file(tmp_path, "TRADEWIND_BAR_INTERVAL_S=30")
    assert load_settings(path, defaults=defaults).marketdata.bar_interval_s == 30
    monkeypatch.setenv("TRADEWIND_BAR_INTERVAL_S", "60")
    assert load_settings(path, defaults=defaults).marketdata.bar_interval_s == 60


def test_the_instance_slot_is_a_setting_checked_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = settings_file(tmp_path, "TRADEWIND_INSTANCE_INDEX=2", "TRADEWIND_INSTANCE_COUNT=3")
    strategy = load_settings(path).strategy
    assert (strategy.instance_index, strategy.instance_count) == (2, 3)
    monkeypatch.setenv("TRADEWIND_INSTANCE_COUNT", "2")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.setting == "TRADEWIND_INSTANCE_INDEX"
    assert caught.value.problem == (
        f"must be in 0..1 (TRADEWIND_INSTANCE_COUNT=2), got 2 (set in {path})"
    )
    monkeypatch.setenv("TRADEWIND_INSTANCE_COUNT", "two")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.setting == "TRADEWIND_INSTANCE_COUNT"


def test_the_risk_limits_are_parsed_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().risk.limits == DEFAULT_LIMITS
    inline = '{"defaults": {"max_order_value": {"USDT": "2500.5"}}, "accounts": {"a2": {}}}'
    monkeypatch.setenv("TRADEWIND_RISK_LIMITS", inline)
    limits = load_settings().risk.limits
    assert limits.defaults.max_order_value == {"USDT": Decimal("2500.5")}
    monkeypatch.setenv("TRADEWIND_RISK_LIMITS", '{"defaults": {"daily_loss_limit": "-5"}}')
    with pytest.raises(ConfigError, match="must be a number >= 0") as caught:
        load_settings()
    assert caught.value.setting == "TRADEWIND_RISK_LIMITS"


def test_a_typo_in_the_risk_limits_file_stops_the_load_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "limits.json"
    path.write_text('{"defaults": {"max_order_valeu": {"USDT": 1}}}')
    monkeypatch.setenv("TRADEWIND_RISK_LIMITS_FILE", str(path))
    with pytest.raises(ConfigError, match="unknown field 'max_order_valeu'") as caught:
        load_settings()
    assert caught.value.setting == "TRADEWIND_RISK_LIMITS_FILE"
    assert caught.value.problem.startswith(f"{path}: ")
    monkeypatch.setenv("TRADEWIND_RISK_LIMITS", "{}")
    with pytest.raises(ConfigError, match="not both") as caught:
        load_settings()
    assert caught.value.setting == "TRADEWIND_RISK_LIMITS_FILE"
    monkeypatch.delenv("TRADEWIND_RISK_LIMITS")
    monkeypatch.setenv("TRADEWIND_RISK_LIMITS_FILE", str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="cannot read") as caught:
        load_settings()
    assert caught.value.setting == "TRADEWIND_RISK_LIMITS_FILE"


def test_the_simulators_admin_token_is_a_setting(tmp_path: Path) -> None:
    path = settings_file(tmp_path, "TRADEWIND_SIM_ADMIN_TOKEN=a-token-of-16-chars-or-more")
    token = load_settings(path).sim_admin_token
    assert token is not None and token.get_secret_value() == "a-token-of-16-chars-or-more"


def test_tradewind_settings_lists_every_variable() -> None:
    result = CliRunner().invoke(app, ["settings"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    variables = [row.variable for row in setting_rows()]
    assert "TRADEWIND_EXECUTION_MAX_RETRIES" in variables
    assert "TRADEWIND_STRATEGY_TIMER_TICK_S" in variables
    assert [name for name in variables if name not in result.output] == []
    markdown = CliRunner().invoke(app, ["settings", "--markdown"])
    assert markdown.output == settings_markdown()


def test_docs_settings_md_is_the_generated_table() -> None:
    assert DOCS.read_text() == settings_markdown(), (
        f"docs/settings.md differs from the settings' models: run `{REGENERATE}`"
    )
