"""`runCalibration -c monitoronly` publishes on /ph2acf/data; the archiver stores it, stamped on arrival."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from tests.archiving import backend_for, running_archiver, wait_stored
from tests.helpers import TIMEOUT, BrokerProcess
from trackerdcs.archive.backend import Query

pytestmark = pytest.mark.broker


async def test_monitoronly_samples_are_archived_at_their_arrival(
    tmp_path: Path, mosquitto: BrokerProcess
) -> None:
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    (tmp_path / "hw.xml").write_text(
        f'<HwDescription><BeBoard Id="0"><OpticalGroup Id="0"/></BeBoard><MonitoringSettings>'
        f'<MQTT broker="127.0.0.1" port="{mosquitto.port}" topic="/ph2acf/data"/></MonitoringSettings></HwDescription>'
    )
    env = {
        **os.environ,
        "PH2ACF_BASE_DIR": "/x",
        "PH2ACF_SIM_MONITOR_COUNT": "8",
        "PH2ACF_SIM_STEP_S": "0.05",
    }
    async with running_archiver(mosquitto.settings, url, tmp_path / "spool"):
        before = time.time()
        sim = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "trackerdcs.ph2acf_sim",
            "-b",
            "-f",
            "hw.xml",
            "-c",
            "monitoronly",
            cwd=tmp_path,
            env=env,
        )
        assert await asyncio.wait_for(sim.wait(), TIMEOUT) == 0
        backend = backend_for(url)
        assert await wait_stored(backend, {"ph2acf": 8}) == {"ph2acf": 8}
        after = time.time()
    temps = backend.history(Query("ph2acf", "LpGBT_OG0_temp", since=0))
    errors = backend.history(Query("ph2acf", "Sensor_OG0_temp_error", since=0))
    counters = backend.history(Query("ph2acf", "counter", since=0))
    backend.close()
    assert [v for _, v in counters] == [float(i) for i in range(8)]
    assert all(before <= ts <= after for ts, _ in temps)  # wall-clock arrival, not the monotonic timestamp
    assert [v for _, v in errors] == ["NO_READ"]
