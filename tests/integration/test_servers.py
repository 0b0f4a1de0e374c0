"""The servers the project runs on are there and answer. Under CI=true a missing one
fails here even when no other selected test needs it."""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


async def test_postgresql_answers(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url, timeout=5)
    try:
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()


async def test_redis_answers(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        assert await client.ping()
    finally:
        await client.aclose()


async def test_the_kafka_protocol_broker_round_trips_a_record(kafka_bootstrap: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait("servers-check", b"hello", key=b"k")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        "servers-check",
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id="servers-check",
    )
    await consumer.start()
    try:
        record = await consumer.getone()
        assert record.value == b"hello"
    finally:
        await consumer.stop()
