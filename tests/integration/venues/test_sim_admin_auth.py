"""The simulator's own API (`/sim/v1`) is open to loopback clients and, from anywhere
else, only to holders of the admin token; serving on a non-loopback address without a
token is refused at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tradewind.bus.tansu import free_port, port_open
from tradewind.errors import ConfigError
from tradewind.venues.simulated.server.app import build_app
from tradewind.venues.simulated.server.serve import build_state, serve, serving_in_thread
from tradewind.venues.simulated.server.sim_admin import is_loopback, may_administer

TOKEN = "s3cret-admin-token-of-32-chars!!"
OUTSIDER = ("203.0.113.5", 1234)
REPO = Path(__file__).resolve().parents[3]

#: One request per /sim/v1 route: (method, path, JSON body).
SIM_REQUESTS = [
    ("POST", "/sim/v1/accounts", {"balances": {"USDT": "1000000"}}),
    ("GET", "/sim/v1/accounts/any-account/balances", None),
    ("GET", "/sim/v1/accounts/any-account/open_orders", None),
    ("GET", "/sim/v1/accounts/any-account/trades", None),
    ("GET", "/sim/v1/submissions", None),
    ("GET", "/sim/v1/faults", None),
    ("POST", "/sim/v1/faults", {"http_5xx_s": 60}),
    ("DELETE", "/sim/v1/faults", None),
]


@asynccontextmanager
async def sim_client(
    peer: tuple[str, int], token: str | None = None, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The simulator's HTTP app, called from `peer`'s address."""
    app = build_app(build_state("synthetic", seed=3, admin_token=token), step_interval_s=None)
    transport = httpx.ASGITransport(app=app, client=peer)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sim.test", headers=headers
    ) as client:
        yield client


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "::ffff:127.0.0.1", "localhost"]
)
def test_loopback_addresses_are_loopback(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    ["203.0.113.5", "10.0.0.1", "0.0.0.0", "::", "::ffff:10.0.0.1", "testclient", "", None],
)
def test_other_addresses_and_names_are_not(host: str | None) -> None:
    assert not is_loopback(host)


def test_only_loopback_or_the_exact_bearer_token_may_administer() -> None:
    assert may_administer("127.0.0.1", None, None)
    assert may_administer("203.0.113.5", f"Bearer {TOKEN}", TOKEN)
    assert may_administer("203.0.113.5", f"bearer {TOKEN}", TOKEN)
    assert not may_administer("203.0.113.5", None, TOKEN)
    assert not may_administer("203.0.113.5", f"Bearer {TOKEN[:-1]}", TOKEN)
    assert not may_administer("203.0.113.5", f"Basic {TOKEN}", TOKEN)
    assert not may_administer("203.0.113.5", TOKEN, TOKEN)
    assert not may_administer("203.0.113.5", "Bearer ", None)  # no token: no way in
    assert not may_administer(None, None, None)


@pytest.mark.parametrize(("method", "path", "body"), SIM_REQUESTS)
async def test_a_remote_client_without_the_token_is_refused_401(
    method: str, path: str, body: object
) -> None:
    async with sim_client(OUTSIDER, TOKEN) as client:
        refused = await client.request(method, path, json=body)
        wrong = await client.request(
            method, path, json=body, headers={"Authorization": "Bearer not-the-token"}
        )
        faults = (await client.get("/sim/v1/faults", headers=_bearer(TOKEN))).json()

    for answer in (refused, wrong):
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert "authentication" in answer.json()["error"]
        assert "not-the-token" not in answer.text
    assert faults["http_5xx_s"] == 0  # nothing was switched on


@pytest.mark.parametrize(("method", "path", "body"), SIM_REQUESTS)
async def test_a_remote_client_with_the_token_is_served(
    method: str, path: str, body: object
) -> None:
    async with sim_client(OUTSIDER, TOKEN, headers=_bearer(TOKEN)) as client:
        answer = await client.request(method, path, json=body)
    assert answer.status_code in (200, 201), answer.text


async def test_without_a_configured_token_remote_clients_are_always_refused() -> None:
    async with sim_client(OUTSIDER, None, headers=_bearer("")) as client:
        answer = await client.post("/sim/v1/accounts", json={"balances": {"USDT": "1"}})
    assert answer.status_code == 401
    assert "only loopback clients" in answer.json()["error"]


@pytest.mark.parametrize("peer", [("127.0.0.1", 50000), ("::1", 50000)])
async def test_loopback_clients_need_no_token(peer: tuple[str, int]) -> None:
    async with sim_client(peer, None) as client:
        created = await client.post("/sim/v1/accounts", json={"balances": {"USDT": "10"}})
        balances = await client.get(f"/sim/v1/accounts/{created.json()['account_id']}/balances")
    assert created.status_code == 201
    assert balances.json()["USDT"]["free"] == "10"


async def test_the_binance_api_stays_open_to_remote_clients() -> None:
    async with sim_client(OUTSIDER, None) as client:
        assert (await client.get("/api/v3/ping")).status_code == 200
        assert (await client.get("/api/v3/exchangeInfo")).status_code == 200


def test_a_loopback_client_over_real_http_needs_no_token() -> None:
    state = build_state("synthetic", seed=3, admin_token=TOKEN)
    with serving_in_thread(state, step_interval_s=None) as url:
        answer = httpx.get(f"{url}/sim/v1/faults", timeout=5)
    assert answer.status_code == 200


def test_serving_on_a_non_loopback_address_without_a_token_is_refused() -> None:
    state = build_state("synthetic", seed=3)
    with pytest.raises(ConfigError, match="--admin-token"):
        serve(state, "0.0.0.0", 0)
    with pytest.raises(ConfigError, match="--admin-token"), serving_in_thread(state, "0.0.0.0"):
        pass
    short = build_state("synthetic", seed=3, admin_token="short")
    with pytest.raises(ConfigError, match="at least 16 characters"):
        serve(short, "0.0.0.0", 0)


def test_venue_serve_names_the_option_and_exits_2_without_a_token_on_0_0_0_0() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRADEWIND_SIM_ADMIN_TOKEN"}
    env["PYTHONPATH"] = str(REPO)  # this checkout's code, not an installed copy
    result = subprocess.run(
        [sys.executable, "-m", "tradewind.cli", "venue", "serve", "--host", "0.0.0.0",
         "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=REPO,
        env=env,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "tradewind: error: --admin-token: serving on 0.0.0.0" in result.stderr


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_venue_serve_reads_its_admin_token_from_the_secrets_directory(tmp_path: Path) -> None:
    """A deployment mounts secrets as files (TRADEWIND_SECRETS_DIR), never as environment
    values: `venue serve` on a non-loopback address starts with the token from there."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "TRADEWIND_SIM_ADMIN_TOKEN").write_text("a-token-from-a-mounted-file\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "TRADEWIND_SIM_ADMIN_TOKEN"}
    command = [sys.executable, "-m", "tradewind.cli", "venue", "serve"]
    command += ["--host", "0.0.0.0", "--port", str(port), "--market", "synthetic"]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--admin-token" in refused.stderr
    env["TRADEWIND_SECRETS_DIR"] = str(secrets)
    served = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):  # at most 30 s to start
            if port_open("127.0.0.1", port, 0.2) or served.poll() is not None:
                break
            time.sleep(0.1)
        assert served.poll() is None, served.stderr.read() if served.stderr else ""
        answer = httpx.get(
            f"http://127.0.0.1:{port}/sim/v1/accounts",
            headers={"Authorization": "Bearer a-token-from-a-mounted-file"},
            timeout=10,
        )
        assert answer.status_code != 401
    finally:
        served.terminate()
        served.wait(15)
