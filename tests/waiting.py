"""Waiting in tests for something to become true, bounded by a timeout, never by
comparing clock readings."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def wait_until(
    condition: Callable[[], object], timeout_s: float = 10.0, poll_s: float = 0.01
) -> None:
    """Poll `condition` every `poll_s` until it is true; fail if it is not within
    `timeout_s`."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                if condition():
                    return
                await asyncio.sleep(poll_s)
    except TimeoutError:
        raise AssertionError(f"not true within {timeout_s} s: {condition}") from None


async def wait_until_async(
    condition: Callable[[], Awaitable[object]], timeout_s: float = 10.0, poll_s: float = 0.01
) -> None:
    """`wait_until` for a condition that must be awaited (one that asks a server)."""
    try:
        async with asyncio.timeout(timeout_s):
            while not await condition():  # noqa: ASYNC110 - the condition is not an event
                await asyncio.sleep(poll_s)
    except TimeoutError:
        raise AssertionError(f"not true within {timeout_s} s: {condition}") from None
