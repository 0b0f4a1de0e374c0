"""The alert rules on a real Prometheus (Debian's package) scraping a running platform
(`tradewind up`): none fires while the platform is healthy, and the service-down alert
fires when the process freezes (SIGSTOP: it no longer answers scrapes) and ends when it
thaws. The rules are deploy/prometheus/alerts.yml as shipped, with every `for:` shortened
to a few seconds so the test need not wait minutes."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import missing
from tradewind.bus.tansu import free_port

pytestmark = pytest.mark.servers

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
FOR = "4s"


def prometheus_binary() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        missing("no `prometheus` binary (Debian: apt-get install prometheus; .ci/run does)")
    assert binary is not None
    return binary


def quick_rules(directory: Path) -> Path:
    """alerts.yml with every `for:` set to `FOR`."""
    rules = directory / "alerts.yml"
    rules.write_text(re.sub(r"(?m)^(\s+for:)\s*\S+", rf"\1 {FOR}", RULES.read_text()))
    return rules


def prometheus_config(directory: Path, health_port: int) -> Path:
    config = directory / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}\n"
        f"rule_files: [{quick_rules(directory)}]\n"
        "scrape_configs:\n"
        "  - job_name: embedded\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{health_port}']\n"
        "        labels: {service: embedded}\n"
    )
    return config


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`tradewind up` with a few bots, in its own directory; (process, health port)."""
    health_port = free_port()
    env = {**os.environ, "TRADEWIND_HEALTH_PORT": str(health_port)}
    env.pop("TRADEWIND_DATABASE_URL", None)
    log = (tmp_path / "up.log").open("w")
    command = [sys.executable, "-m", "tradewind.cli", "up", "--bots", "4", "--for", "600"]
    command += ["--no-live", "--venue-port", "0", "--port", str(free_port())]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process, health_port
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


@pytest.fixture
def prometheus(tmp_path: Path, platform: tuple[subprocess.Popen[bytes], int]) -> Iterator[str]:
    """A Prometheus scraping the platform every second; yields its base URL."""
    binary = prometheus_binary()
    port = free_port()
    work = tmp_path / "prometheus"
    work.mkdir()
    log = (work / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={prometheus_config(work, platform[1])}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)
        log.close()


async def wait_for(http: httpx.AsyncClient, condition: str, seconds: float, check: object) -> None:
    """Poll until `check(http)` is true, at most `seconds`; fails naming `condition`."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                try:
                    if await check(http):  # type: ignore[operator]
                        return
                except httpx.HTTPError:
                    pass  # not listening yet
                await asyncio.sleep(0.5)
    except TimeoutError:
        pytest.fail(f"not within {seconds:g} s: {condition}")


async def alerts(http: httpx.AsyncClient, prometheus: str) -> list[dict[str, object]]:
    answer = await http.get(f"{prometheus}/api/v1/alerts")
    return list(answer.json()["data"]["alerts"])


async def test_a_frozen_process_fires_the_service_down_alert_and_nothing_else_fires(
    platform: tuple[subprocess.Popen[bytes], int], prometheus: str
) -> None:
    process, health_port = platform
    async with httpx.AsyncClient(timeout=5) as http:

        async def ready(http: httpx.AsyncClient) -> bool:
            return (await http.get(f"http://127.0.0.1:{health_port}/readyz")).status_code == 200

        await wait_for(http, "the platform is ready", 120, ready)

        async def scraped(http: httpx.AsyncClient) -> bool:
            answer = await http.get(f"{prometheus}/api/v1/query", params={"query": "up"})
            return [r["value"][1] for r in answer.json()["data"]["result"]] == ["1"]

        await wait_for(http, "Prometheus scrapes the platform", 60, scraped)
        await asyncio.sleep(10)  # every rule evaluated ~10 times on a healthy platform
        firing = [a for a in await alerts(http, prometheus) if a["state"] == "firing"]
        assert firing == [], f"alerts firing on a healthy platform: {firing}"

        process.send_signal(signal.SIGSTOP)  # frozen: it no longer answers scrapes

        async def service_down(http: httpx.AsyncClient) -> bool:
            return any(
                a["labels"]["alertname"] == "TradewindServiceDown" and a["state"] == "firing"  # type: ignore[index]
                for a in await alerts(http, prometheus)
            )

        await wait_for(http, "TradewindServiceDown fires", 60, service_down)
        process.send_signal(signal.SIGCONT)

        async def resolved(http: httpx.AsyncClient) -> bool:
            return not await service_down(http)

        await wait_for(http, "TradewindServiceDown ends once the process thaws", 60, resolved)
