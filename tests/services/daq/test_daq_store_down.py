"""MongoDB down during a run: the record waits on disk and arrives, complete, once it is back."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from tests.helpers import TIMEOUT, probe
from tests.mongo import MongoProcess
from tests.services.daq.stack import check_conditions, hv_on, online, start_stack, stop_stack
from trackerdcs.runstore.base import Record
from trackerdcs.runstore.mongo import MongoStore

pytestmark = [pytest.mark.broker, pytest.mark.mongodb]


async def in_mongo(url: str, run_id: str, status: str | None = None) -> Record:
    store = MongoStore(url, timeout_ms=500)
    try:
        async with asyncio.timeout(TIMEOUT * 2):
            while True:
                record = await asyncio.to_thread(store.get, run_id)
                if record is not None and (status is None or record["status"] == status):
                    return record
                await asyncio.sleep(0.1)
    finally:
        store.close()


async def test_mongodb_down_during_a_run(tmp_path: Path, mongodb: MongoProcess) -> None:
    stack = start_stack(tmp_path / "stack", store=f'store = "{mongodb.url}"')
    try:
        slow = stack.settings("slow", '<Simulator step="1.0"/>')
        async with probe(stack.broker) as p:
            await online(p, "daq")
            await hv_on(p)
            mark = p.mark()
            reply = await p.command(
                "/daq/cmd/start", json.dumps({"calibration": "PSquickTest", "config": slow})
            )
            assert reply.ok, reply
            run_id = reply.message.split(":", 1)[0].removeprefix("run ")
            first = await in_mongo(mongodb.url, run_id)  # created before the process started
            assert first["status"] == "starting"
            # Killed, as a crash does: stopped with SIGTERM, the server finished what its open
            # connections asked while it shut down, and under load the run's last write could
            # still land before it was gone, so nothing was ever kept on disk.
            await asyncio.to_thread(mongodb.stop, signal.SIGKILL)
            await p.status("daq", lambda s: s.get("state") == "done", start=mark)
            await p.status("daq", lambda s: s.get("store_pending", 0) >= 1, start=mark)
            mongodb.start()
            record = await in_mongo(mongodb.url, run_id, "done")
            await p.status("daq", lambda s: s.get("store_pending") == 0, start=mark)
        assert record["modules"] == ["M1"]
        assert record["steps"] == ["OTVTRxLightYieldScan", "OTPSADCCalibration", "PedeNoise"]
        check_conditions(p, record)
    finally:
        stop_stack(stack)
