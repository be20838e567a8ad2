"""The restart policy of `dcs up`'s children: never given up on, and a crash loop is reported."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest

from trackerdcs.supervisor.restart import CRASH_LOOP, Supervised


async def wait_for_restarts(child: Supervised, count: int) -> None:
    async with asyncio.timeout(30):
        while child.restarts < count:
            await asyncio.sleep(0.01)


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_child_that_keeps_dying_is_reported_and_still_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exits: list[int] = []

    async def on_exit(child: Supervised, code: int) -> None:
        exits.append(code)

    child = Supervised(
        "flaky", [sys.executable, "-c", "raise SystemExit(3)"], min_delay=0.0, max_delay=0.01, on_exit=on_exit
    )
    with caplog.at_level(logging.ERROR, logger="trackerdcs.supervisor.restart"):
        task = asyncio.create_task(child.run())
        await wait_for_restarts(child, CRASH_LOOP + 2)
        await stop(task)
    assert "flaky keeps dying" in caplog.text
    assert exits[: CRASH_LOOP + 2] == [3] * (CRASH_LOOP + 2)


async def test_a_child_that_cannot_start_is_retried_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    child = Supervised("missing", ["/nonexistent/dcs"], min_delay=0.0, max_delay=0.01)
    with caplog.at_level(logging.ERROR, logger="trackerdcs.supervisor.restart"):
        task = asyncio.create_task(child.run())
        await wait_for_restarts(child, 2)
        assert not task.done()
        await stop(task)
    assert "missing could not be started" in caplog.text


async def test_a_stop_cancelled_twice_still_ends_the_child() -> None:
    child = Supervised("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    process = await child.start()
    task = asyncio.create_task(child.run())
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.sleep(0)
    task.cancel()  # a second Ctrl-C, or a TaskGroup and a gather both cancelling
    with pytest.raises(asyncio.CancelledError):
        await task
    assert process.returncode is not None
