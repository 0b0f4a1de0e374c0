"""deploy/compose.yaml runs the whole platform: every service of the registry, each with
the settings its code refuses to start without, secrets only from files, a healthcheck on
its health port, after the one-shot migration. Read offline (no Docker engine needed)."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import SecretStr

from tradewind.app.registry import SERVICES
from tradewind.errors import ConfigError
from tradewind.gateway.config import master_keys_from_settings, token_config_from_settings
from tradewind.runtime.settings import Settings, setting_name

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
SCALED = ("strategy", "risk", "execution", "portfolio", "marketdata", "gateway")
#: Settings every process of the distributed platform needs: the defaults (memory://
#: bus and cache, a SQLite file) live inside one process, so separate containers would
#: not share events, quotes or the system of record.
SHARED = {"TRADEWIND_BUS_URL", "TRADEWIND_CACHE_URL", "TRADEWIND_DATABASE_URL"}
#: The links a service is handed by `DistributedPlatform` and refuses to start without.
RESOURCE_SETTINGS = {"TRADEWIND_VENUE_URLS", "TRADEWIND_MASTER_KEYS", "TRADEWIND_DATABASE_URL"}


def load_compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


COMPOSE = load_compose()
ALL = COMPOSE["services"]


def interpolate(text: str) -> str:
    """`text` as Compose would run it with no variable set: `${NAME:-default}` ->
    default."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", text)


def is_tradewind(service: dict[str, Any]) -> bool:
    return "build" in service


TRADEWIND = {name: spec for name, spec in ALL.items() if is_tradewind(spec)}
#: Compose service -> the `tradewind service NAME` it runs.
RUNS = {
    name: spec["command"][1]
    for name, spec in TRADEWIND.items()
    if spec.get("command", [None])[0] == "service"
}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment must be a mapping (KEY: value)"
    return {key: interpolate(str(value)) for key, value in env.items()}


def secret_settings(service: dict[str, Any]) -> set[str]:
    """Settings delivered as files in TRADEWIND_SECRETS_DIR (mounted under /run/secrets)."""
    secrets_dir = environment(service).get("TRADEWIND_SECRETS_DIR")
    if secrets_dir is None:
        return set()
    found = set()
    for entry in service.get("secrets", []):
        target = entry if isinstance(entry, str) else entry.get("target", entry["source"])
        path = target if target.startswith("/") else f"/run/secrets/{target}"
        if str(Path(path).parent) == secrets_dir.rstrip("/"):
            found.add(Path(path).name)
    return found


def supplied(service: dict[str, Any]) -> set[str]:
    return set(environment(service)) | secret_settings(service)


def required_by(service_name: str) -> set[str]:
    """What `tradewind service NAME` needs, read from the code: the resource settings its
    package names (in the `ConfigError` it raises without them), and, for the gateway,
    the settings its key and token loaders refuse to run without on PostgreSQL."""
    package = Path(inspect.getfile(SERVICES[service_name])).parent
    source = "\n".join(path.read_text() for path in package.glob("*.py"))
    named = set(re.findall(r'"(TRADEWIND_[A-Z_]+)"', source)) & RESOURCE_SETTINGS
    needed = SHARED | named
    if service_name == "gateway":
        postgres = Settings(database_url="postgresql://postgres:5432/tradewind")
        for loader in (master_keys_from_settings, token_config_from_settings):
            with pytest.raises(ConfigError) as refused:
                loader(postgres)
            needed.add(refused.value.setting)
    return needed


def test_every_service_of_the_registry_runs_in_compose() -> None:
    assert set(RUNS.values()) == set(SERVICES)


@pytest.mark.parametrize("name", SCALED)
def test_services_that_scale_run_two_instances(name: str) -> None:
    assert ALL[name]["deploy"]["replicas"] >= 2
    assert "container_name" not in ALL[name], "a fixed container name cannot be replicated"


@pytest.mark.parametrize("name", sorted(RUNS))
def test_every_service_has_a_healthcheck_on_its_health_port(name: str) -> None:
    spec, env = ALL[name], environment(ALL[name])
    check = spec["healthcheck"]
    assert not check.get("disable")
    assert env["TRADEWIND_HEALTH_HOST"] == "0.0.0.0", "Prometheus scrapes from outside"
    port = env.get("TRADEWIND_HEALTH_PORT", str(Settings.model_fields["health_port"].default))
    assert f"127.0.0.1:{port}/healthz" in " ".join(check["test"])


def test_every_long_running_container_has_a_healthcheck_and_restarts() -> None:
    for name, spec in ALL.items():
        if name == "migrate":
            continue
        assert spec["restart"] in ("always", "unless-stopped", "on-failure"), name
        check = spec.get("healthcheck")
        assert check and not check.get("disable") and check["test"], name


@pytest.mark.parametrize("name", sorted(TRADEWIND))
def test_tradewind_containers_are_built_from_the_dockerfile_and_run_read_only(
    name: str,
) -> None:
    spec = ALL[name]
    build = spec["build"]
    assert (DEPLOY / build["context"]).resolve() == ROOT
    assert (ROOT / build.get("dockerfile", "Dockerfile")).is_file()
    assert spec["read_only"] is True
    assert any(str(mount).split(":")[0] == "/tmp" for mount in spec["tmpfs"])
    images = {interpolate(other["image"]) for other in TRADEWIND.values()}
    assert len(images) == 1, "one image for every process"


@pytest.mark.parametrize("name", sorted(RUNS))
def test_every_service_gets_the_settings_its_code_requires(name: str) -> None:
    spec = ALL[name]
    missing = required_by(RUNS[name]) - supplied(spec)
    assert not missing, f"{name} lacks {sorted(missing)}"
    env = environment(spec)
    for shared in ("TRADEWIND_BUS_URL", "TRADEWIND_CACHE_URL"):
        assert urlsplit(env[shared]).hostname in ALL, f"{shared} names no compose service"
    assert "TRADEWIND_DATABASE_URL" in secret_settings(spec), "it carries the password"


def test_master_keys_go_to_gateway_and_execution_the_jwt_secret_to_the_gateway() -> None:
    assert "TRADEWIND_MASTER_KEYS" in secret_settings(ALL["execution"])
    assert {"TRADEWIND_MASTER_KEYS", "TRADEWIND_JWT_SECRET"} <= secret_settings(ALL["gateway"])
    for name in set(RUNS) - {"gateway"}:
        assert "TRADEWIND_JWT_SECRET" not in supplied(ALL[name]), name


def test_no_secret_is_written_inline() -> None:
    secret_fields = {
        setting_name(field)
        for field, info in Settings.model_fields.items()
        if SecretStr in getattr(info.annotation, "__args__", (info.annotation,))
    }
    forbidden = secret_fields | {"TRADEWIND_SIM_ADMIN_TOKEN", "TRADEWIND_DATABASE_URL"}
    assert {"TRADEWIND_MASTER_KEYS", "TRADEWIND_JWT_SECRET"} <= forbidden
    for name, spec in ALL.items():
        for key, value in environment(spec).items():
            assert key not in forbidden, f"{name}: {key} must come from a secret file"
            if re.search(r"PASSWORD|SECRET|TOKEN|KEYS?$", key):
                assert key.endswith(("_FILE", "_DIR")), f"{name}: {key} must name a file"
            assert not re.search(r"://[^/@\s]*:[^/@\s]*@", value), f"{name}: {key} has a password"


def test_secrets_come_from_uncommitted_files_that_make_secrets_writes() -> None:
    script = (DEPLOY / "make-secrets.sh").read_text()
    assert COMPOSE["secrets"]
    for name, secret in COMPOSE["secrets"].items():
        assert set(secret) == {"file"}, f"{name}: only file-backed secrets"
        path = (DEPLOY / secret["file"]).resolve()
        assert path.parent == DEPLOY / "secrets"
        assert re.search(rf"\b{re.escape(path.name)}\b", script), f"{path.name} not made"
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "deploy/secrets/" in ignored
    used = {
        entry if isinstance(entry, str) else entry["source"]
        for spec in ALL.values()
        for entry in spec.get("secrets", [])
    }
    assert used <= set(COMPOSE["secrets"])


def test_every_service_waits_for_the_migration_job() -> None:
    migrate = ALL["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["restart"] == "no"
    assert "TRADEWIND_DATABASE_URL" in secret_settings(migrate)
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in RUNS:
        condition = ALL[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_the_venue_serves_where_the_services_look_for_it_with_a_secret_admin_token() -> None:
    venue = ALL["venue"]
    args = venue["command"]
    assert args[:2] == ["venue", "serve"]
    assert args[args.index("--host") + 1] == "0.0.0.0"
    port = args[args.index("--port") + 1]
    for name in RUNS:
        urls = dict(
            part.split("=", 1) for part in environment(ALL[name])["TRADEWIND_VENUE_URLS"].split(",")
        )
        assert {urlsplit(url).netloc for url in urls.values()} == {f"venue:{port}"}, name
    assert "TRADEWIND_SIM_ADMIN_TOKEN" not in environment(venue)
    (secret,) = venue["secrets"]
    assert secret["target"] == "TRADEWIND_SIM_ADMIN_TOKEN"  # read from TRADEWIND_SECRETS_DIR
    assert COMPOSE["secrets"][secret["source"]]["file"].endswith("TRADEWIND_SIM_ADMIN_TOKEN")
    assert environment(venue)["TRADEWIND_SECRETS_DIR"] == "/run/secrets"


def test_the_bus_is_redis_streams_by_default_and_kafka_in_a_profile() -> None:
    raw = ALL["gateway"]["environment"]["TRADEWIND_BUS_URL"]
    assert raw.startswith("${TRADEWIND_BUS_URL:-"), "the operator switches it at `up`"
    assert urlsplit(interpolate(raw)).scheme == "redis"
    kafka = ALL["kafka"]
    assert kafka["profiles"] == ["kafka"]
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    for name in RUNS:
        assert ALL[name]["depends_on"]["kafka"]["required"] is False, name
    assert "TRADEWIND_BUS_URL=kafka://kafka:9092" in (DEPLOY / "README.md").read_text()


def test_monitoring_mounts_its_configuration_from_deploy() -> None:
    mounted = {
        (DEPLOY / str(volume).split(":")[0]).resolve().relative_to(DEPLOY).as_posix()
        for name in ("prometheus", "alertmanager", "grafana")
        for volume in ALL[name]["volumes"]
        if str(volume).startswith("./")
    }
    assert mounted == {
        "prometheus/prometheus.yml",
        "prometheus/alerts.yml",
        "alertmanager/alertmanager.yml",
        "grafana/provisioning",
        "grafana/dashboards",
    }


def test_prometheus_scrapes_every_service_on_its_health_port() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    scraped: dict[str, int] = {}
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            for host in sd["names"]:
                scraped[host] = sd["port"]
    for name in RUNS:
        assert scraped.get(name) == int(environment(ALL[name])["TRADEWIND_HEALTH_PORT"]), name
    assert "/etc/prometheus/alerts.yml" in config["rule_files"]
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["alertmanager:9093"]


def test_alertmanager_routes_to_a_declared_receiver() -> None:
    config = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    receivers = {receiver["name"] for receiver in config["receivers"]}
    routes = [config["route"], *config["route"].get("routes", [])]
    assert all(route["receiver"] in receivers for route in routes)


def tradewind_cli() -> list[str]:
    script = Path(sys.executable).with_name("tradewind")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from tradewind.cli import main; main()"]


COMMANDS = sorted({tuple(spec["command"]) for spec in TRADEWIND.values()})


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_compose_runs_exists_on_the_cli(args: tuple[str, ...]) -> None:
    done = subprocess.run(
        [*tradewind_cli(), *args, "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: tradewind" in done.stdout
