from __future__ import annotations

from pathlib import Path

import pytest

from tradewind.errors import ConfigError
from tradewind.runtime.settings import Settings, load_settings, redact_url

pytestmark = pytest.mark.usefixtures("clean_environment")


def config_error(**environment: str) -> ConfigError:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        with pytest.raises(ConfigError) as caught:
            load_settings()
    return caught.value


def test_defaults_are_the_embedded_adapters() -> None:
    settings = load_settings()
    assert settings.bus_url == "memory://"
    assert settings.cache_url == "memory://"
    assert settings.database_url == "sqlite:///./tradewind.db"
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8000)
    assert settings.health_port == 9100
    assert (settings.log_level, settings.log_format, settings.partitions) == ("info", "auto", 8)


def test_environment_variables_set_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWIND_BUS_URL", "kafka://h1:9092,[::1]:9093")
    monkeypatch.setenv("TRADEWIND_CACHE_URL", "redis://cache:6380/2")
    monkeypatch.setenv("TRADEWIND_DATABASE_URL", "postgresql+asyncpg://u:p@db/tradewind")
    monkeypatch.setenv("TRADEWIND_HEALTH_PORT", "0")
    monkeypatch.setenv("TRADEWIND_LOG_LEVEL", "DEBUG")
    settings = load_settings()
    assert settings.bus_url == "kafka://h1:9092,[::1]:9093"
    assert settings.cache_url == "redis://cache:6380/2"
    assert settings.database_url == "postgresql+asyncpg://u:p@db/tradewind"
    assert settings.health_port == 0
    assert settings.log_level == "debug"


def test_unknown_bus_scheme_names_the_variable_and_the_schemes_to_use() -> None:
    error = config_error(TRADEWIND_BUS_URL="foo://x")
    assert error.setting == "TRADEWIND_BUS_URL"
    assert error.problem == (
        "unknown scheme 'foo'; use memory://, redis://host:port/db or kafka://host:port"
    )


@pytest.mark.parametrize(
    ("variable", "value", "problem_start"),
    [
        ("TRADEWIND_BUS_URL", "localhost:6379", "'localhost:6379' is not a URL; use memory://"),
        ("TRADEWIND_BUS_URL", "kafka://", "no host in 'kafka://'"),
        ("TRADEWIND_BUS_URL", "redis://host/zero", "database 'zero' is not a number"),
        ("TRADEWIND_BUS_URL", "kafka://h1:9092,h2:x", "port 'x' is not a number 1-65535"),
        ("TRADEWIND_CACHE_URL", "kafka://h:9092", "unknown scheme 'kafka'; use memory:// or"),
        ("TRADEWIND_DATABASE_URL", "mysql://h/db", "unknown scheme 'mysql'; use sqlite:///"),
        ("TRADEWIND_HTTP_PORT", "http", "Input should be a valid integer"),
        ("TRADEWIND_HEALTH_PORT", "70000", "Input should be less than or equal to 65535"),
        ("TRADEWIND_LOG_FORMAT", "xml", "Input should be 'auto', 'json' or 'console', got 'xml'"),
        ("TRADEWIND_PARTITIONS", "0", "Input should be greater than or equal to 1"),
    ],
)
def test_invalid_values_are_reported_by_variable_name(
    variable: str, value: str, problem_start: str
) -> None:
    error = config_error(**{variable: value})
    assert error.setting == variable
    assert error.problem.startswith(problem_start), error.problem


def test_a_password_in_a_bad_url_is_never_in_the_error() -> None:
    error = config_error(TRADEWIND_BUS_URL="redis://user:hunter2@host:port/0")
    assert "hunter2" not in str(error)
    assert "redis://user:***@host:port/0" in error.problem


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///./tradewind.db",
        "sqlite+aiosqlite:////var/lib/tradewind.db",
        "sqlite://",
        "postgresql://u:p@db:5432/tradewind",
        "postgresql:///tradewind",
        "postgresql+asyncpg://db/tradewind",
    ],
)
def test_supported_database_urls_are_accepted(url: str) -> None:
    assert Settings(database_url=url).database_url == url


def test_settings_file_sets_values_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_file = tmp_path / "tradewind.env"
    settings_file.write_text("TRADEWIND_PARTITIONS=16\nTRADEWIND_LOG_FORMAT=console\n")
    monkeypatch.setenv("TRADEWIND_PARTITIONS", "4")
    settings = load_settings(settings_file)
    assert settings.partitions == 4
    assert settings.log_format == "console"


def test_settings_file_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_file = tmp_path / "tradewind.env"
    settings_file.write_text("TRADEWIND_HEALTH_PORT=9200\n")
    monkeypatch.setenv("TRADEWIND_CONFIG_FILE", str(settings_file))
    assert load_settings().health_port == 9200


def test_a_bad_value_in_the_settings_file_says_it_came_from_there(tmp_path: Path) -> None:
    settings_file = tmp_path / "tradewind.env"
    settings_file.write_text("TRADEWIND_BUS_URL=foo://x\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(settings_file)
    assert caught.value.setting == "TRADEWIND_BUS_URL"
    assert caught.value.problem.endswith(f"(set in {settings_file})")


def test_a_misspelt_setting_in_the_settings_file_is_an_error(tmp_path: Path) -> None:
    settings_file = tmp_path / "tradewind.env"
    settings_file.write_text("TRADEWIND_BUS_ULR=redis://h:6379/0\nOTHER_TOOL=1\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(settings_file)
    assert caught.value.setting == "TRADEWIND_BUS_ULR"
    assert "TRADEWIND_BUS_URL" in caught.value.problem


def test_a_missing_settings_file_is_an_error_naming_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "absent.env")
    assert caught.value.setting == "--config"
    assert "absent.env is not a file" in caught.value.problem


def test_overrides_win_and_their_errors_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWIND_HTTP_PORT", "8001")
    assert load_settings(http_port=8080).http_port == 8080
    with pytest.raises(ConfigError) as caught:
        load_settings(http_port=0)
    assert caught.value.setting == "TRADEWIND_HTTP_PORT"
    assert caught.value.problem.endswith("(given on the command line)")


def test_printing_settings_hides_passwords() -> None:
    settings = Settings(
        bus_url="redis://:s3cret@bus:6379/0", database_url="postgresql://app:pw@db/tw"
    )
    assert "s3cret" not in repr(settings)
    assert ":pw@" not in str(settings)
    assert "postgresql://app:***@db/tw" in repr(settings)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("memory://", "memory://"),
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://user:pw@host:6379/0", "redis://user:***@host:6379/0"),
        ("postgresql://u:p/a@ss@db/tw", "postgresql://u:***@db/tw"),
        ("kafka://u:p@h1:9092,h2:9092", "kafka://u:***@h1:9092,h2:9092"),
        ("postgresql://db/tw?user=u&password=p", "postgresql://db/tw?user=u&password=***"),
        ("connect to redis://u:pw@h:1/0 failed", "connect to redis://u:***@h:1/0 failed"),
        ("http://[::1", "http://[::1"),
        ("not a url at all", "not a url at all"),
    ],
)
def test_redact_url_hides_passwords_and_keeps_the_rest(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("memory://?max_lag=lots", "max_lag='lots' in the bus URL is not a positive whole number"),
        ("redis://h:6379/0?lease_ms=0", "lease_ms='0' in the bus URL must be positive"),
        ("kafka://h:9092?sesion_timeout_ms=6000", "unknown Kafka bus option 'sesion_timeout_ms'"),
    ],
)
def test_a_bad_bus_tunable_stops_the_start_naming_the_bus_url(url: str, problem: str) -> None:
    error = config_error(TRADEWIND_BUS_URL=url)
    assert error.setting == "TRADEWIND_BUS_URL"
    assert error.problem.startswith(problem)
