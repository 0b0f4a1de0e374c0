"""The Prometheus alert rules (`deploy/prometheus/alerts.yml`): valid, tested with
`promtool test rules` against `alerts_test.yml`, and naming only metrics Tradewind
really exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.servers import missing

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts_test.yml"

#: Series Prometheus makes itself, not Tradewind.
PROMETHEUS_OWN = frozenset({"up"})
_SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created", "_info")
_NAME = re.compile(r"\b(tradewind_[a-z0-9_]+|up)\b(?!\s*\()")


def metric_names(promql: str) -> set[str]:
    """The metric names a PromQL expression reads (Tradewind's and `up`)."""
    without_strings = re.sub(r'"[^"]*"', '""', promql)
    return set(_NAME.findall(without_strings))


def registered_names() -> set[str]:
    """Every `tradewind_*` name registered in tradewind/, with the series names the
    Prometheus client derives from it (counters' `_total`, histograms' `_bucket` …)."""
    names: set[str] = set()
    for source in (ROOT / "tradewind").rglob("*.py"):
        for name in re.findall(r'"(tradewind_[a-z0-9_]+)"', source.read_text()):
            base = name.removesuffix("_total")
            names.update({name, base, *(base + suffix for suffix in _SUFFIXES)})
    return names


def unknown_metrics(promql: str) -> set[str]:
    return metric_names(promql) - registered_names() - PROMETHEUS_OWN


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        missing("promtool is not installed (apt-get install prometheus)")
    assert path is not None
    return path


def alert_rules() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_every_alert_has_a_summary_and_a_runbook() -> None:
    for rule in alert_rules():
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        assert annotations.get("summary"), rule["alert"]
        assert annotations.get("runbook"), rule["alert"]


def test_every_alert_reads_only_metrics_tradewind_exports() -> None:
    for rule in alert_rules():
        assert metric_names(str(rule["expr"])), rule["alert"]
        assert unknown_metrics(str(rule["expr"])) == set(), rule["alert"]


def test_the_name_check_catches_a_misspelt_metric() -> None:
    assert unknown_metrics("rate(tradewind_execution_order_total[5m])") == {
        "tradewind_execution_order_total"
    }
    assert unknown_metrics('sum(rate(tradewind_execution_orders_total{outcome="x"}[5m]))') == set()


def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_alert_fires_on_a_bad_series_and_not_on_a_healthy_one(tmp_path: Path) -> None:
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)  # checked above; the tests need not repeat them
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules))
    shutil.copy(RULE_TESTS, tmp_path / "alerts_test.yml")
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert tested == {str(rule["alert"]) for rule in alert_rules()}
    result = subprocess.run(
        [promtool(), "test", "rules", "alerts_test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["up", "tradewind_bus_consumer_lag"])
def test_known_names_pass(name: str) -> None:
    assert unknown_metrics(name) == set()
