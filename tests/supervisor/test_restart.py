"""The restart policy of `dcs up`'s children: never given up on, and a crash loop is reported."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import pytest

from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.stand import parse_stand
from trackerdcs.supervisor.restart import CRASH_LOOP, Supervised
from trackerdcs.supervisor.stack import StackOptions, _children
from trackerdcs.supervisor.watch import Availability


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


async def test_a_child_can_run_at_a_lower_cpu_priority() -> None:
    child = Supervised("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], nice=10)
    process = await child.start()
    try:
        assert os.getpriority(os.PRIO_PROCESS, process.pid) == os.getpriority(os.PRIO_PROCESS, 0) + 10
        group = Path(f"/proc/{process.pid}/autogroup")
        if group.exists():  # its own session's group: without its nice, the child's did nothing
            assert group.read_text().split()[-1] == "10"
    finally:
        task = asyncio.create_task(child.run())
        await stop(task)


def test_the_archive_and_the_console_yield_the_cpu_to_the_control_path(tmp_path: Path) -> None:
    text = '[[devices]]\nname = "hv"\nkind = "hv"\n[[devices]]\nname = "lv"\nkind = "lv"\n'
    text += '[[modules]]\nname = "M1"\nlv = "lv:0"\nhv = "hv:0"\n'
    options = StackOptions(parse_stand(text, "test"), None, data_dir=tmp_path, web_port=8080)
    children = _children(options, BrokerSettings(), Availability(BrokerSettings()))
    nice = {child.name: child.nice for child in children}
    assert nice.pop("archive") == nice.pop("console") == 10
    assert nice and set(nice.values()) == {0}  # the safety service and the devices
