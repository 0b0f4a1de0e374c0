"""Two gateway instances behind one load balancer (issue #13): A and B share one
PostgreSQL schema and one Redis Streams bus and serve on ports of their own. A session,
the login throttle and an account's live events belong to the platform, not to the
instance that took the request; and when A goes, B carries on with the same tokens."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
import structlog
from websockets.asyncio.client import ClientConnection, connect

from tests.integration.gateway.serving import gateway_settings
from tests.integration.gateway.support import CHEAP_HASHER, PASSWORD, Api, User, unique_email
from tests.integration.gateway.test_revocation import close_code
from tests.integration.gateway.test_stream import portfolio, receive
from tests.servers import migrated_database
from tradewind.bus.envelope import envelope
from tradewind.bus.redis_streams import RedisStreamsBus
from tradewind.bus.topics import PORTFOLIO_UPDATES
from tradewind.gateway.deps import GatewayState
from tradewind.gateway.service import GatewayService
from tradewind.runtime.metrics import RuntimeMetrics
from tradewind.runtime.service import Resources, ServiceContext
from tradewind.store.database import Database
from tradewind.venues.directory import SimulatedVenues
from tradewind.venues.simulated.exchange import SimulatedExchange

pytestmark = pytest.mark.servers

#: The load balancer's address: both instances believe its `X-Forwarded-For`.
LOAD_BALANCER = "127.0.0.1"
GUESSER = {"X-Forwarded-For": "203.0.113.7"}
OWNER_ELSEWHERE = {"X-Forwarded-For": "198.51.100.9"}
LOGIN, REFRESH, ME = "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/me"


@dataclass
class Instance:
    """One gateway process: its service, its own bus connection, database pool and port,
    and an HTTP client that reaches it directly (as the load balancer would)."""

    name: str
    service: GatewayService
    bus: RedisStreamsBus
    database: Database
    url: str
    api: Api

    @property
    def client(self) -> httpx.AsyncClient:
        return self.api.client

    @property
    def state(self) -> GatewayState:
        assert self.service.state is not None
        return self.service.state

    def stream_url(self, user: User) -> str:
        ws_url = self.url.replace("http", "ws", 1)
        return f"{ws_url}/api/v1/stream?token={user.access_token}"

    async def go_down(self) -> None:
        """The instance is gone: it stops serving and lets go of the bus and database.
        (`GatewayService` has no kill path, so this is its `stop`.)"""
        await self.service.stop()
        await self.bus.close()
        await self.database.close()


@dataclass
class Twins:
    a: Instance
    b: Instance
    #: The portfolio service's connection to the same bus, which publishes valuations.
    portfolio_service: RedisStreamsBus

    async def publish_valuation(self, account_id: str, equity: str) -> None:
        update = portfolio(account_id, equity)
        await self.portfolio_service.publish(PORTFOLIO_UPDATES, envelope(update, account_id))


@asynccontextmanager
async def gateway_instance(
    name: str,
    tmp_path: Path,
    *,
    bus_url: str,
    postgres_url: str,
    schema: str,
    exchange: SimulatedExchange,
) -> AsyncIterator[Instance]:
    settings = gateway_settings(
        tmp_path, database_url=postgres_url, bus_url=bus_url, trusted_proxies=LOAD_BALANCER
    )
    bus = RedisStreamsBus.from_url(bus_url)
    await bus.start()
    database = Database(postgres_url, schema=schema)
    resources = Resources(venues=SimulatedVenues(exchange), database=database)
    log = structlog.stdlib.get_logger("tradewind.services.gateway").bind(instance=name)
    service = GatewayService(hasher=CHEAP_HASHER)
    try:
        await service.start(ServiceContext(settings, bus, log, RuntimeMetrics(), resources))
        state = service.state
        assert state is not None
        url = f"http://127.0.0.1:{settings.http_port}"
        async with httpx.AsyncClient(base_url=url) as client:
            yield Instance(name, service, bus, database, url, Api(client, state, exchange))
    finally:
        await service.stop()  # idempotent: an instance already gone stays gone
        await bus.close()
        await database.close()


@pytest.fixture
async def twins(
    tmp_path: Path, postgres_url: str, redis_url: str, exchange: SimulatedExchange
) -> AsyncIterator[Twins]:
    """Gateways A and B over a fresh PostgreSQL schema and a bus under a fresh prefix."""
    prefix = f"gwtwins{uuid.uuid4().hex[:12]}"
    bus_url = f"{redis_url}?prefix={prefix}"
    async with AsyncExitStack() as stack:
        redis = aioredis.Redis.from_url(redis_url)
        stack.push_async_callback(redis.aclose)

        async def drop_prefix() -> None:
            keys = [key async for key in redis.scan_iter(f"{prefix}:*")]
            if keys:
                await redis.delete(*keys)

        stack.push_async_callback(drop_prefix)
        _, schema = await stack.enter_async_context(
            migrated_database("postgresql", tmp_path, postgres_url)
        )
        assert schema is not None
        shared = {"bus_url": bus_url, "postgres_url": postgres_url, "schema": schema}
        a = await stack.enter_async_context(
            gateway_instance("a", tmp_path, exchange=exchange, **shared)
        )
        b = await stack.enter_async_context(
            gateway_instance("b", tmp_path, exchange=exchange, **shared)
        )
        assert a.url != b.url
        publisher = RedisStreamsBus.from_url(bus_url)
        await publisher.start()
        stack.push_async_callback(publisher.close)
        yield Twins(a, b, publisher)


async def refused_once_polled(instance: Instance, headers: dict[str, str]) -> httpx.Response:
    """`GET /me` on `instance` once it refuses `headers`, within 5 s: a revocation made on
    another instance reaches this one at its next poll of the database."""
    async with asyncio.timeout(5):
        while True:
            me = await instance.client.get(ME, headers=headers)
            if me.status_code != 200:
                return me
            await asyncio.sleep(0.05)


async def test_a_user_signed_up_on_a_logs_in_on_b_and_each_accepts_the_others_tokens(
    twins: Twins,
) -> None:
    a, b = twins.a, twins.b
    email = unique_email("twin")
    registered = await a.client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 202, registered.text
    on_b = await b.api.log_in(email)
    on_a = await a.api.log_in(email)
    assert on_a.id == on_b.id

    me = await b.client.get(ME, headers=on_a.headers)
    assert me.status_code == 200 and me.json()["id"] == on_a.id
    assert (await a.client.get(ME, headers=on_b.headers)).status_code == 200

    # A's refresh token rotates on B, once; the new access token works on A too.
    refreshed = await b.client.post(REFRESH, json={"refresh_token": on_a.refresh_token})
    assert refreshed.status_code == 200, refreshed.text
    rotated = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert (await a.client.get(ME, headers=rotated)).status_code == 200
    replayed = await a.client.post(REFRESH, json={"refresh_token": on_a.refresh_token})
    assert replayed.status_code == 401 and replayed.json()["code"] == "refresh_reused"
    again_on_b = await b.client.post(REFRESH, json={"refresh_token": on_a.refresh_token})
    assert again_on_b.status_code == 401

    # The replay ended that session on A at once, and on B at B's next poll; the
    # session opened on B is another one and goes on.
    on_a_now = await a.client.get(ME, headers=rotated)
    assert on_a_now.status_code == 401 and on_a_now.json()["code"] == "token_revoked"
    on_b_soon = await refused_once_polled(b, rotated)
    assert on_b_soon.status_code == 401 and on_b_soon.json()["code"] == "token_revoked"
    assert (await b.client.get(ME, headers=on_b.headers)).status_code == 200


async def test_wrong_passwords_sent_to_a_make_b_refuse_that_source_on_that_address(
    twins: Twins,
) -> None:
    a, b = twins.a, twins.b
    # The same policy on both, with a first wait of ten minutes instead of one second,
    # so the outcome does not depend on how fast this machine sends the next request.
    for instance in (a, b):
        instance.state.login_policy = dataclasses.replace(
            instance.state.login_policy, first_delay_s=600
        )
    alice = await a.api.sign_up()
    wrong = {"email": alice.email, "password": "Wrong-Horse-4242"}
    for _ in range(a.state.login_policy.max_failures):
        failed = await a.client.post(LOGIN, json=wrong, headers=GUESSER)
        assert failed.status_code == 401 and failed.json()["code"] == "wrong_credentials"

    # B has seen none of those attempts (its per-minute buckets are full): what refuses
    # the guesser, even with the right password, is A's count in the shared database.
    right = {"email": alice.email, "password": PASSWORD}
    refused = await b.client.post(LOGIN, json=right, headers=GUESSER)
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 600
    assert "too many failed logins" in refused.json()["detail"]
    assert (await a.client.post(LOGIN, json=right, headers=GUESSER)).status_code == 429

    # Only that source on that address waits: the owner, from elsewhere, logs in on B.
    owner = await b.client.post(LOGIN, json=right, headers=OWNER_ELSEWHERE)
    assert owner.status_code == 200, owner.text
    other = await a.api.sign_up()
    guesser_elsewhere = await b.client.post(
        LOGIN, json={"email": other.email, "password": PASSWORD}, headers=GUESSER
    )
    assert guesser_elsewhere.status_code == 200, guesser_elsewhere.text


async def test_an_account_event_published_once_reaches_the_owners_streams_on_both_instances(
    twins: Twins,
) -> None:
    a, b = twins.a, twins.b
    alice = await a.api.sign_up()
    alices = (await a.api.connect_account(alice))["id"]
    bob = await b.api.sign_up()
    bobs = (await b.api.connect_account(bob))["id"]
    async with (
        connect(a.stream_url(alice)) as alice_on_a,
        connect(b.stream_url(alice)) as alice_on_b,
        connect(a.stream_url(bob)) as bob_on_a,
        connect(b.stream_url(bob)) as bob_on_b,
    ):
        for ws in (alice_on_a, alice_on_b):
            assert await receive(ws) == {"type": "subscribed", "accounts": [alices]}
        for ws in (bob_on_a, bob_on_b):
            assert await receive(ws) == {"type": "subscribed", "accounts": [bobs]}

        await twins.publish_valuation(alices, "1234.5")
        seen_on_a, seen_on_b = await receive(alice_on_a), await receive(alice_on_b)
        assert seen_on_a == seen_on_b  # one event, the same message (and event id) on each
        assert seen_on_a["type"] == "portfolio"
        assert (seen_on_a["data"]["account_id"], seen_on_a["data"]["equity"]) == (
            alices,
            "1234.5",
        )

        # Both hubs have dispatched Alice's event (her streams got it), so anything of
        # it meant for Bob would already be queued ahead of this valuation of his own.
        await twins.publish_valuation(bobs, "5")
        for ws in (bob_on_a, bob_on_b):
            first = await receive(ws)
            assert (first["type"], first["data"]["account_id"]) == ("portfolio", bobs)


async def test_when_a_goes_b_serves_its_users_with_the_same_token_and_stream(
    twins: Twins,
) -> None:
    a, b = twins.a, twins.b
    alice = await a.api.sign_up()  # the tokens come from A
    alices = (await a.api.connect_account(alice))["id"]
    async with connect(a.stream_url(alice)) as on_a, connect(b.stream_url(alice)) as on_b:
        for ws in (on_a, on_b):
            assert (await receive(ws))["type"] == "subscribed"

        await a.go_down()
        assert await close_code(on_a) == 1001
        with pytest.raises(httpx.ConnectError):
            await a.client.get(ME, headers=alice.headers)

        me = await b.client.get(ME, headers=alice.headers)
        assert me.status_code == 200 and me.json()["id"] == alice.id
        # The client A dropped comes back through the load balancer, to B.
        async with connect(b.stream_url(alice)) as moved:
            assert await receive(moved) == {"type": "subscribed", "accounts": [alices]}
            await twins.publish_valuation(alices, "99")
            for ws in (on_b, moved):
                update = await receive(ws)
                assert (update["data"]["account_id"], update["data"]["equity"]) == (alices, "99")

    reads = await b.client.get("/api/v1/portfolio", headers=alice.headers)
    assert [p["equity"] for p in reads.json()["items"]] == ["99"]
    refreshed = await b.client.post(REFRESH, json={"refresh_token": alice.refresh_token})
    assert refreshed.status_code == 200, refreshed.text


async def next_valuation(ws: ClientConnection) -> tuple[str, str]:
    """The next valuation on `ws` as (account id, equity), skipping other messages."""
    while True:
        message = await receive(ws)
        if message["type"] == "portfolio":
            return message["data"]["account_id"], message["data"]["equity"]


async def valuations_until(ws: ClientConnection, last: tuple[str, str]) -> list[tuple[str, str]]:
    """The valuations on `ws` up to and with `last`."""
    seen = [await next_valuation(ws)]
    while seen[-1] != last:
        seen.append(await next_valuation(ws))
    return seen


async def test_a_stream_open_on_b_follows_accounts_connected_and_removed_through_a(
    twins: Twins,
) -> None:
    a, b = twins.a, twins.b
    alice = await a.api.sign_up()
    first = (await a.api.connect_account(alice))["id"]
    async with connect(b.stream_url(alice)) as on_b:
        assert await receive(on_b) == {"type": "subscribed", "accounts": [first]}
        second = (await a.api.connect_account(alice, "second"))["id"]
        # B learns of it at its next poll of the database (about a second): until then
        # a valuation of the new account is not for any stream of B's.
        for attempt in range(50):
            await twins.publish_valuation(second, f"{attempt + 1}")
            await twins.publish_valuation(first, "0.5")
            seen = await valuations_until(on_b, (first, "0.5"))
            if (second, f"{attempt + 1}") in seen:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("B's stream never got the account connected through A")

        removed = await a.client.delete(f"/api/v1/accounts/{second}", headers=alice.headers)
        assert removed.status_code == 204, removed.text
        for _ in range(50):
            await asyncio.sleep(0.1)
            await twins.publish_valuation(second, "0.25")
            await twins.publish_valuation(first, "0.5")
            if await valuations_until(on_b, (first, "0.5")) == [(first, "0.5")]:
                break  # the removed account's valuation did not come: B let it go
        else:
            raise AssertionError("B's stream kept the account removed through A")
