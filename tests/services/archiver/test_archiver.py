"""The archiver end to end: real mosquitto, real InfluxDB, real device services.

In each outage the number of points stored must equal the number published.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.archiving import Load, backend_for, running_archiver, wait_stored
from tests.helpers import TIMEOUT, BrokerProcess, alive, children_of, dcs_argv, probe, running_device
from tests.influx import InfluxProcess
from trackerdcs.archive.backend import Query
from trackerdcs.contract.payloads import dumps, stamp_status

pytestmark = pytest.mark.broker

OUTAGE = 20.0  # s: the InfluxDB outage the archive must ride through (the scenario)


async def test_every_status_lands_in_influxdb_at_the_device_time(
    mosquitto: BrokerProcess, influx: InfluxProcess, tmp_path: Path
) -> None:
    url = influx.url()
    async with running_archiver(mosquitto.settings, url, tmp_path / "spool"), probe(mosquitto.settings) as p:
        async with running_device(mosquitto.settings, name="hv", kind="hv", channels=2):
            status = await p.status("hv")
            ts = status[0]["ts"]
            db = backend_for(url)
            async with asyncio.timeout(TIMEOUT):
                while not [
                    v for t, v in db.history(Query("hv", "vmon", "1", since=ts - 1)) if abs(t - ts) < 1e-6
                ]:
                    await asyncio.sleep(0.05)
            availability = db.history(Query("availability", "online", since=ts - 60))
            assert availability  # the device's "online" was stored too
            # the archiver's own status is on the bus and in the archive
            own = await p.status("archive", lambda s: s[0]["stored"] > 0)
            assert own[0]["database_up"] == 1
            assert own[0]["backend"] == "influxdb"


async def test_the_embedded_sqlite_archive_needs_nothing_but_python(
    mosquitto: BrokerProcess, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    async with (
        running_archiver(mosquitto.settings, url, tmp_path / "spool"),
        Load(mosquitto.settings, 2) as load,
    ):
        await wait_until_statuses(load, 100)
        published = await load.quiesce()
        stored = await wait_stored(backend_for(url), published)
    assert stored == published


async def test_influxdb_down_for_20_s_loses_nothing(
    mosquitto: BrokerProcess, influx: InfluxProcess, tmp_path: Path
) -> None:
    url = influx.url()
    async with (
        running_archiver(mosquitto.settings, url, tmp_path / "spool") as archiver,
        Load(mosquitto.settings) as load,
    ):
        await wait_until_statuses(load, 100)
        influx.stop()
        down_since = time.monotonic()
        async with probe(mosquitto.settings, "/archive/status") as p:
            await p.status("archive", lambda s: s[0]["database_up"] == 0 and s[0]["pending_segments"] > 0)
        await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - down_since)))  # the outage itself
        influx.start()
        published = await load.quiesce()
        stored = await wait_stored(backend_for(url), published)
        assert archiver.backend_up
    assert stored == published
    assert sum(published.values()) > OUTAGE * 100 * 4  # it really was under load all along


async def test_kill_9_of_the_archiver_loses_nothing(
    mosquitto: BrokerProcess, influx: InfluxProcess, tmp_path: Path
) -> None:
    url = influx.url()
    argv = dcs_argv(
        "archive", "run", "--broker", mosquitto.url, "--archive", url, "--data-dir", str(tmp_path), "-q"
    )
    async with probe(mosquitto.settings, "/archive/#") as p:
        archiver = subprocess.Popen(argv)
        try:
            # the archiver first: what was published before its first subscription is not its to keep
            await p.wait_for(lambda m: m.topic.value == "/archive/availability" and m.payload == b"online")
            async with Load(mosquitto.settings) as load:
                await wait_until_statuses(load, 200)
                await wait_until(lambda: len(children_of(archiver.pid)) >= 2, "the archiver's workers")
                workers = children_of(archiver.pid)
                archiver.send_signal(signal.SIGKILL)
                archiver.wait(TIMEOUT)
                await wait_until(lambda: not any(alive(pid) for pid in workers), "its workers to die with it")
                await wait_until_statuses(load, load.statuses() + 300)  # published while it is dead
                mark = p.mark()
                archiver = subprocess.Popen(argv)
                online = b"online"
                await p.wait_for(
                    lambda m: m.topic.value == "/archive/availability" and m.payload == online, start=mark
                )
                published = await load.quiesce()
                stored = await wait_stored(backend_for(url), published)
        finally:
            archiver.send_signal(signal.SIGTERM)
            archiver.wait(TIMEOUT)
    assert stored == published


async def test_a_broker_restart_loses_nothing(
    mosquitto: BrokerProcess, influx: InfluxProcess, tmp_path: Path
) -> None:
    url = influx.url()
    async with (
        running_archiver(mosquitto.settings, url, tmp_path / "spool") as archiver,
        Load(mosquitto.settings) as load,
    ):
        await wait_until_statuses(load, 200)
        mosquitto.stop()
        await wait_until(
            lambda: all(len(s.outbox) > 20 for s in load.services), "samples buffered by the devices"
        )
        mosquitto.start()
        async with asyncio.timeout(TIMEOUT):
            while not archiver.ingest.connected.is_set():
                await asyncio.sleep(0.05)
        published = await load.quiesce()
        stored = await wait_stored(backend_for(url), published)
    assert stored == published


async def test_a_gap_in_sequence_numbers_is_counted_and_the_device_asked_to_republish(
    mosquitto: BrokerProcess, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    async with running_archiver(mosquitto.settings, url, tmp_path / "spool", status_period=0.1) as archiver:
        async with probe(mosquitto.settings) as p:
            for seq in (0, 1, 2, 7, 8):  # 3..6 never arrive
                body = stamp_status([{"number": 0, "vmon": 1.0}], 1000.0 + seq, seq)
                await p.client.publish("/gappy/status", dumps(body), qos=1)
            await p.wait_for(lambda m: m.topic.value == "/gappy/cmd/rebirth", what="a rebirth request")
            status = await p.status("archive", lambda s: s[0]["gaps"] == 4)
            assert status[0]["messages"] >= 5
            assert archiver.store.counters.gaps.missing == {"gappy": 4}


async def test_garbage_on_a_status_topic_is_counted_and_the_archiver_goes_on(
    mosquitto: BrokerProcess, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    async with running_archiver(mosquitto.settings, url, tmp_path / "spool", status_period=0.1):
        async with probe(mosquitto.settings) as p:
            await p.client.publish("/junk/status", b"\x00\xff not json", qos=1)
            await p.client.publish("/fine/status", dumps({"temperature": 20.5, "ts": 5.0}), qos=1)
            status = await p.status("archive", lambda s: s[0]["bad_messages"] == 1 and s[0]["stored"] >= 1)
    assert backend_for(url).history(Query("fine", "temperature")) == [(5.0, 20.5)]
    assert status[0]["bad_messages"] == 1


async def test_a_full_spool_raises_the_alarm_holds_samples_back_and_drops_none(
    mosquitto: BrokerProcess, influx: InfluxProcess, tmp_path: Path
) -> None:
    url = influx.url()
    small = {"spool_max_bytes": 64 * 1024, "segment_bytes": 8 * 1024, "status_period": 0.1}
    async with (
        running_archiver(mosquitto.settings, url, tmp_path / "spool", **small),
        Load(mosquitto.settings, 2) as load,
    ):
        influx.stop()
        async with probe(mosquitto.settings, "/archive/status") as p:
            await p.status("archive", lambda s: s[0]["spool_full"] == 1)
            influx.start()
            published = await load.quiesce()
            stored = await wait_stored(backend_for(url), published)
            await p.status("archive", lambda s: s[0]["spool_full"] == 0)
    assert stored == published


async def test_dcs_history_prints_and_plots_from_influxdb(influx: InfluxProcess, tmp_path: Path) -> None:
    url = influx.url()
    now = time.time()
    from trackerdcs.archive.points import Point

    backend_for(url).write(
        [Point("hv", {"number": "0"}, {"vmon": float(i)}, int((now - 60 + i) * 1e9)) for i in range(60)]
    )
    plot = tmp_path / "vmon.png"
    args = ["history", "hv", "0", "vmon", "--since", "2m", "--archive", url, "--json", "--plot", str(plot)]
    result = subprocess.run(dcs_argv(*args), capture_output=True, text=True, timeout=TIMEOUT * 4)
    assert result.returncode == 0, result.stderr
    values = [json.loads(line)["value"] for line in result.stdout.splitlines()]
    assert values == [float(i) for i in range(60)]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dcs_history_names_a_missing_archive(tmp_path: Path) -> None:
    result = subprocess.run(
        dcs_argv("history", "hv", "vmon", "--data-dir", str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "no archive at" in result.stderr


async def wait_until_statuses(load: Load, count: int) -> None:
    await wait_until(lambda: load.statuses() >= count, f"{count} statuses published")


async def wait_until(condition: object, what: str, timeout: float = 60.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def test_a_full_spool_becomes_a_safety_alarm_through_a_stand_rule(
    mosquitto: BrokerProcess, influx: InfluxProcess, tmp_path: Path
) -> None:
    from trackerdcs.services.safety.build import safety_service
    from trackerdcs.stand import parse_stand

    stand = parse_stand(
        '[[devices]]\nname = "load0"\nkind = "hv"\nchannels = 4\n'
        '[[rules]]\nname = "archive_spool_full"\nsignal = "archive:0.spool_full"\nabove = 0.5\nseverity = "alarm"\n',
        "test.toml",
    )
    safety = asyncio.create_task(safety_service(stand, mosquitto.settings).run())
    small = {"spool_max_bytes": 64 * 1024, "segment_bytes": 8 * 1024, "status_period": 0.1}
    try:
        async with probe(mosquitto.settings, "/interlock/#") as p:
            async with running_archiver(mosquitto.settings, influx.url(), tmp_path / "spool", **small):
                async with Load(mosquitto.settings, 1):
                    influx.stop()
                    alarms = await p.wait_for(
                        lambda m: (
                            m.topic.value == "/interlock/alarms" and "archive_spool_full" in str(m.payload)
                        ),
                        what="the spool-full alarm",
                    )
                    assert b'"active": true' in alarms.payload or b'"active":true' in alarms.payload
                    influx.start()
    finally:
        safety.cancel()
        await asyncio.gather(safety, return_exceptions=True)


async def test_a_segment_the_database_refuses_is_kept_aside_and_counted(
    mosquitto: BrokerProcess, influx: InfluxProcess, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    async with running_archiver(mosquitto.settings, influx.url(), spool, status_period=0.1):
        async with probe(mosquitto.settings) as p:
            await p.client.publish("/typed/status", dumps({"a": 1.0, "ts": 5.0}), qos=1)
            await p.status("archive", lambda s: s[0]["stored"] >= 1)
            await p.client.publish("/typed/status", dumps({"a": "text", "ts": 6.0}), qos=1)  # type conflict
            status = await p.status("archive", lambda s: s[0]["rejected"] >= 1)
    assert status[0]["rejected"] >= 1  # the whole segment: other messages of that 0.1 s too
    assert list((spool / "rejected").glob("*.seg"))
