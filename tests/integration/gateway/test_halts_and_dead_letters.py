"""What the dashboard shows of operations: the kill switch that halts a bot, on the
trader's bot itself, and the dead letters of the deadletters service in this process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import structlog

from tests import waiting
from tests.integration.gateway.serving import gateway_settings, serving
from tests.integration.gateway.support import Api, User
from tradewind.bus import topics
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.memory import MemoryBus
from tradewind.domain.events import DeadLetter
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, ServiceContext
from tradewind.services.deadletters import DeadLettersService
from tradewind.venues.simulated.exchange import SimulatedExchange


async def switch(api: Api, operator: User, action: str, scope: str, target: str) -> None:
    body: dict[str, str] = {"scope": scope, "target": target}
    if action == "engage":
        body["reason"] = f"{scope} incident under review"
    path = "/api/v1/admin/kill-switches" + ("" if action == "engage" else "/release")
    response = await api.client.post(path, json=body, headers=operator.headers)
    assert response.status_code == 200, response.text


async def halted_by(api: Api, user: User, bot_id: str) -> Any:
    response = await api.client.get(f"/api/v1/bots/{bot_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    listed = await api.client.get("/api/v1/bots", headers=user.headers)
    (in_list,) = [b for b in listed.json()["items"] if b["id"] == bot_id]
    assert in_list["halted_by"] == response.json()["halted_by"]
    return response.json()["halted_by"]


async def test_a_bot_shows_the_kill_switch_that_halts_it_and_no_one_elses(api: Api) -> None:
    operator = await api.as_roles("operator")
    trader, other = await api.sign_up(), await api.sign_up()
    account = await api.connect_account(trader)
    bot = await api.create_bot(trader, account["id"])
    others_bot = await api.create_bot(other, (await api.connect_account(other))["id"])
    assert bot["halted_by"] is None
    started = await api.client.post(f"/api/v1/bots/{bot['id']}/start", headers=trader.headers)
    assert started.json()["halted_by"] is None

    await switch(api, operator, "engage", "account", account["id"])
    shown = await halted_by(api, trader, bot["id"])
    assert shown is not None
    assert shown["scope"] == "account" and shown["target"] == account["id"]
    assert shown["reason"] == "account incident under review"
    assert shown["engaged_at"].endswith("Z")
    assert set(shown) == {"scope", "target", "reason", "engaged_at"}  # not who engaged it
    assert await halted_by(api, other, others_bot["id"]) is None
    paused = await api.client.post(f"/api/v1/bots/{bot['id']}/pause", headers=trader.headers)
    assert paused.json()["halted_by"]["scope"] == "account"

    # The broadest switch is the one that stops it, as risk and execution choose.
    await switch(api, operator, "engage", "venue", "sim")
    assert (await halted_by(api, trader, bot["id"]))["scope"] == "venue"
    assert (await halted_by(api, other, others_bot["id"]))["scope"] == "venue"
    await switch(api, operator, "release", "venue", "sim")
    assert await halted_by(api, other, others_bot["id"]) is None

    await switch(api, operator, "release", "account", account["id"])
    assert await halted_by(api, trader, bot["id"]) is None

    await switch(api, operator, "engage", "bot", others_bot["id"])
    assert (await halted_by(api, other, others_bot["id"]))["target"] == others_bot["id"]
    assert await halted_by(api, trader, bot["id"]) is None
    await switch(api, operator, "engage", "global", "")
    assert (await halted_by(api, trader, bot["id"]))["scope"] == "global"
    await switch(api, operator, "release", "global", "")
    await switch(api, operator, "release", "bot", others_bot["id"])
    assert await halted_by(api, other, others_bot["id"]) is None


async def test_dead_letters_come_from_the_deadletters_service_of_the_run(
    tmp_path: Path, exchange: SimulatedExchange
) -> None:
    dead = DeadLettersService()
    resources = Resources()
    resources.services = (dead,)  # as the runner fills it under `tradewind up`
    bus = MemoryBus(partitions=2)
    async with (
        serving(
            gateway_settings(tmp_path), exchange, bus=bus, peers=None, resources=resources
        ) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        log = structlog.stdlib.get_logger("tradewind.services.deadletters")
        await dead.start(ServiceContext(server.settings, bus, log, RuntimeMetrics()))
        try:
            letters = [dead_letter(n) for n in range(3)]
            for letter in letters:
                await bus.publish(topics.dead_letter_topic(topics.BOT_COMMANDS), letter)
            await waiting.wait_until(lambda: len(dead.recent()) == 3, 5.0, poll_s=0.01)
            api = Api(client, server.state, exchange)
            operator = await api.as_roles("operator")
            response = await client.get(
                "/api/v1/admin/dead-letters", params={"limit": 2}, headers=operator.headers
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["limit"], body["offset"], body["next_offset"]) == (2, 0, 2)
            newest = body["items"][0]
            assert newest["dead_letter_id"] == letters[-1].event_id
            assert newest["event_id"] == "original-2"
            assert newest["topic"] == topics.BOT_COMMANDS and newest["group"] == "strategy"
            assert newest["attempts"] == 5 and "KeyError" in newest["reason"]
            assert newest["dead_lettered_at"].endswith("Z")
            assert "raw" not in newest
            rest = await client.get(
                "/api/v1/admin/dead-letters", params={"offset": 2}, headers=operator.headers
            )
            assert [d["event_id"] for d in rest.json()["items"]] == ["original-0"]
            trader = await api.sign_up()
            refused = await client.get("/api/v1/admin/dead-letters", headers=trader.headers)
            assert refused.status_code == 403
        finally:
            await dead.stop()


async def test_without_the_deadletters_service_here_dead_letters_are_503(sqlite_api: Api) -> None:
    operator = await sqlite_api.as_roles("operator")
    response = await sqlite_api.client.get("/api/v1/admin/dead-letters", headers=operator.headers)
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    assert "GET /deadletters" in response.json()["detail"]


def dead_letter(n: int) -> Envelope:
    letter = DeadLetter(
        topic=topics.BOT_COMMANDS,
        group="strategy",
        reason="handler failed 5 times: KeyError: 'bot-1'",
        attempts=5,
        event_id=f"original-{n}",
        raw=b"raw account data",
        ts_ns=time.time_ns(),
    )
    return envelope(letter, key="acct-1")
