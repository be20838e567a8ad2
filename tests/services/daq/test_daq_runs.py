"""DAQ runs end to end: `dcs up` with mosquitto, the archiver, the safety service, simulated devices
and the DAQ service running the Ph2_ACF simulator. Every record's window, status and conditions
are checked against what was published."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import dcs_argv, decode, probe
from tests.services.daq.stack import (
    Stack,
    check_conditions,
    hv_on,
    module_state,
    online,
    record_of,
    run_to_end,
    sampled_after,
    start_stack,
    stop_stack,
)
from trackerdcs.runstore.base import RunQuery

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("daq"))
    yield running
    stop_stack(running)


async def test_a_run_that_succeeds(stack: Stack) -> None:
    async with probe(stack.broker) as p:
        await online(p, "daq")
        await hv_on(p)
        body = {"calibration": "PSquickTest", "session": "S1", "operator": "ana", "note": "first light"}
        run_id, event = await run_to_end(p, json.dumps(body))
        record = await record_of(stack, run_id)
        steps = [
            decode(m)["step"] for m in p.messages if m.topic.value == "/daq/status" and decode(m).get("step")
        ]
    assert event["status"] == "done"
    assert record["status"] == "done"
    assert (record["exit_code"], record["signal"], record["error_class"]) == (0, None, None)
    assert record["run"] == int((stack.workdir / "RunNumbers.dat").read_text())
    assert record["run_number_check"] == "ok"
    assert (record["session"], record["operator"], record["note"]) == ("S1", "ana", "first light")
    assert record["modules"] == ["M1"]
    assert record["steps"] == ["OTVTRxLightYieldScan", "OTPSADCCalibration", "PedeNoise"]
    assert set(steps) == set(record["steps"])  # the status showed each step
    assert record["start"] < record["stop"]
    assert record["duration"] == pytest.approx((record["stop"] - record["start"]).total_seconds())
    assert record["start_local"] and record["timezone"]
    assert Path(record["files"]["results"]).is_file()
    assert Path(record["files"]["configuration"]).is_file()
    assert Path(record["files"]["monitor"]).is_file()
    assert "Halted" in Path(record["files"]["log"]).read_text()
    assert any("Halted" in line for line in record["log_tail"])
    assert len(record["git_hash"]) == 40
    assert set(record["hardware_ids"]) == {"Board_0/OpticalGroup_0"}
    assert record["ph2acf"]["missing"] == []
    check_conditions(p, record)


async def test_refusals_name_their_reason(stack: Stack) -> None:
    async with probe(stack.broker) as p:
        await online(p, "daq")
        await hv_on(p)
        for payload, reason in (
            ("not json", "bad_payload"),
            ('{"calibration": "pedenoise", "modules": ["M9"]}', "bad_payload"),
            ('{"calibration": "pedenoise", "surprise": 1}', "bad_payload"),
            ('{"calibration": "rm -rf /"}', "unknown_calibration"),
            ('{"calibration": "pedenoise", "config": "../../etc/passwd"}', "bad_payload"),
        ):
            reply = await p.command("/daq/cmd/start", payload)
            assert (reply.ok, reply.reason) == (False, reason), (payload, reply)
        unknown = await p.command("/daq/cmd/reboot", "")
        assert unknown.reason == "unknown_command"
        meta = next(decode(m) for m in p.messages if m.topic.value == "/daq/meta")
        assert (meta["kind"], meta["driver"], meta["commands"]) == ("daq", "python", ["start", "stop"])
        store = stack.store()
        assert store.find(RunQuery(status="starting")) == []  # a refused run leaves no record
        store.close()
        mark = p.mark()
        assert (await p.command("/M1/cmd/off", "")).ok
        await module_state(p, "OFF", start=mark)
        refused = await p.command("/daq/cmd/start", '{"calibration": "pedenoise"}')
        assert (refused.ok, refused.reason) == (False, "not_ready")
        assert refused.message == "module M1 is OFF, the run needs HV_ON"
        await hv_on(p)


async def test_a_run_stopped_by_the_operator_while_busy_refuses_another(stack: Stack) -> None:
    hang = stack.settings("hang", '<Simulator fail="hang"/>')
    slow = stack.settings("slow", '<Simulator step="1.5"/>')
    async with probe(stack.broker) as p:
        await online(p, "daq")
        await hv_on(p)
        mark = p.mark()
        reply = await p.command("/daq/cmd/start", json.dumps({"calibration": "PSquickTest", "config": slow}))
        run_id = reply.message.split(":", 1)[0].removeprefix("run ")
        status = await p.status("daq", lambda s: s.get("state") == "running" and s.get("step"), start=mark)
        # a sample inside the run's window, so that its conditions have something to summarise
        await p.status("hv", lambda s: s[0]["ts"] > status["started_at"], start=mark)
        busy = await p.command("/daq/cmd/start", json.dumps({"calibration": "pedenoise", "config": hang}))
        assert (busy.ok, busy.reason) == (False, "busy")
        stop = await p.command("/daq/cmd/stop", "")
        assert stop.ok, stop
        await p.status("daq", lambda s: s.get("state") == "aborted", start=mark)
        record = await record_of(stack, run_id)
    assert (record["status"], record["stop_reason"]) == ("aborted", "operator")
    assert record["signal"] == "SIGABRT"  # SIGINT: Ph2_ACF aborts
    check_conditions(p, record)


async def test_a_run_that_hangs_hits_the_idle_timeout(stack: Stack) -> None:
    hang = stack.settings("hang", '<Simulator fail="hang"/>')
    async with probe(stack.broker) as p:
        await online(p, "daq")
        await hv_on(p)
        run_id, event = await run_to_end(p, json.dumps({"calibration": "pedenoise", "config": hang}))
        record = await record_of(stack, run_id)
    assert (event["status"], record["status"]) == ("aborted", "aborted")
    assert record["stop_reason"] == "idle_timeout"
    assert record["stop_detail"] == "no output for 2 s"
    assert record["steps"] == ["PedeNoise"]
    check_conditions(p, record)


@pytest.mark.parametrize(
    ("fail", "error_class", "exit_code", "signal"),
    [
        ("controlhub", "board_unreachable", None, "SIGABRT"),
        ("host", "host_not_found", None, "SIGABRT"),
        ("noobject", "no_object_enabled", 1, None),
        ("lpgbt", "firmware_not_loaded", 0, None),
        ("crash", "exit_code", 1, None),
    ],
)
async def test_each_known_failure(
    stack: Stack, fail: str, error_class: str, exit_code: int | None, signal: str | None
) -> None:
    config = stack.settings(f"fail_{fail}", f'<Simulator fail="{fail}"/>')
    async with probe(stack.broker) as p:
        await online(p, "daq")
        await hv_on(p)
        run_id, _ = await run_to_end(p, json.dumps({"calibration": "pedenoise", "config": config}))
        record = await record_of(stack, run_id)
    assert (record["status"], record["error_class"]) == ("failed", error_class)
    assert (record["exit_code"], record["signal"]) == (exit_code, signal)
    assert record["run"] is None  # it died before `Run N started`: recorded all the same
    if fail != "crash":
        assert record["error_line"]
    check_conditions(p, record, points=False)  # it fails at once: maybe within one device period


async def test_a_calibration_ph2acf_does_not_know(stack: Stack) -> None:
    async with probe(stack.broker) as p:
        await online(p, "daq")
        await hv_on(p)
        run_id, _ = await run_to_end(p, '{"calibration": "notreal"}')
        record = await record_of(stack, run_id)
    assert (record["status"], record["error_class"], record["exit_code"]) == (
        "failed",
        "unknown_calibration",
        1,
    )
    assert record["error_line"] == "Error: calibration tag notreal does not exist"


def dcs(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    options = ["--config", str(stack.root / "stand.toml")]
    data = ["--data-dir", str(stack.root / "data")]
    broker = ["--broker", stack.broker.url] if args[0] == "daq" else data
    return subprocess.run(dcs_argv(*args, *options, *broker), capture_output=True, text=True, timeout=120)


async def test_the_command_line_starts_follows_lists_and_shows_a_run(stack: Stack, tmp_path: Path) -> None:
    async with probe(stack.broker) as p:
        await online(p, "daq")
        await hv_on(p)
    started = await asyncio.to_thread(
        dcs, stack, "daq", "start", "PSquickTest", "--module", "M1", "--note", "cli"
    )
    assert started.returncode == 0, started.stderr
    lines = started.stdout.splitlines()
    assert lines[0].startswith("accepted: run daqtest-")
    assert any(line.endswith("running, step OTPSADCCalibration") for line in lines), lines
    assert "done" in lines[-2]
    run = lines[-1].split()[1].rstrip(":")
    listed = await asyncio.to_thread(
        dcs, stack, "runs", "--module", "M1", "--since", "1h", "--status", "done"
    )
    assert listed.stdout.splitlines()[0].split()[0] == run
    assert "failed" not in listed.stdout
    shown = await asyncio.to_thread(dcs, stack, "runs", "show", run)
    assert shown.returncode == 0, shown.stderr
    assert "status     done" in shown.stdout
    assert "hv:0.vmon" in shown.stdout
    as_json = json.loads((await asyncio.to_thread(dcs, stack, "runs", "show", run, "--json")).stdout)
    assert (as_json["run"], as_json["note"]) == (int(run), "cli")
    vmon = {c["signal"]: c for c in as_json["conditions"]}["hv:0.vmon"]
    plot = tmp_path / "run.png"
    history = await asyncio.to_thread(
        dcs, stack, "history", "hv", "0", "vmon", "--run", run, "--json", "--plot", str(plot)
    )
    assert history.returncode == 0, history.stderr
    values = [json.loads(line)["value"] for line in history.stdout.splitlines()]
    assert len(values) == vmon["count"]  # --run selects exactly the record's window
    assert (min(values), max(values)) == (vmon["min"], vmon["max"])
    assert plot.stat().st_size > 0
    missing = await asyncio.to_thread(dcs, stack, "runs", "show", "999999")
    assert missing.returncode == 1
    assert "no run '999999'" in missing.stderr


async def test_a_run_stopped_by_a_dewpoint_interlock(stack: Stack) -> None:
    """Last in this file: the latched alarm is acknowledged at the end."""
    slow = stack.settings("slow", '<Simulator step="1.5"/>')
    async with probe(stack.broker) as p:
        await online(p, "daq")
        await hv_on(p)
        mark = p.mark()
        reply = await p.command("/daq/cmd/start", json.dumps({"calibration": "PSquickTest", "config": slow}))
        run_id = reply.message.split(":", 1)[0].removeprefix("run ")
        running = await p.status("daq", lambda s: s.get("state") == "running", start=mark)
        for device in ("hv", "lv", "env"):  # the run holds a sample of each before it is stopped
            await p.status(device, sampled_after(running["ts"]), start=mark)
        await p.command("/env/sim/humidity", "99")
        await p.status("daq", lambda s: s.get("state") == "aborted", start=mark)
        record = await record_of(stack, run_id)
        await p.command("/env/sim/humidity", "30")
        await p.wait_for(
            lambda m: m.topic.value == "/interlock/status" and not decode(m)["rules"]["dewpoint"]["active"],
            start=mark,
            what="the dew point rule to clear",
        )
        assert (await p.command("/interlock/cmd/ack", "dewpoint")).ok
    assert (record["status"], record["stop_reason"]) == ("interlocked", "interlock")
    assert "dewpoint" in record["stop_detail"]
    assert [a["id"] for a in record["alarms"]] == ["dewpoint"]
    check_conditions(p, record)
    margin = {c["signal"]: c for c in record["conditions"]}["env.dewpoint_margin"]
    assert margin["min"] < 3.0  # the violation is in the run's conditions
