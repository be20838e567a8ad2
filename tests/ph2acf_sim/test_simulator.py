"""The Ph2_ACF simulator: its command line, log lines, files, SIGINT and failures match the real one's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import TIMEOUT
from trackerdcs.daq.logline import Kind, parse_line
from trackerdcs.services.daq.results import read_metadata

SIM = [sys.executable, "-m", "trackerdcs.ph2acf_sim"]


def run_sim(workdir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PH2ACF_BASE_DIR": "/opt/ph2acf", "PH2ACF_SIM_MAKE_SETTINGS": "1"}
    environment |= {"PH2ACF_SIM_STEP_S": "0", **env}
    return subprocess.run(
        [*SIM, *args], cwd=workdir, env=environment, capture_output=True, text=True, timeout=TIMEOUT * 4
    )


def test_a_run_prints_the_real_sequence_and_writes_the_real_files(tmp_path: Path) -> None:
    done = run_sim(tmp_path, "-b", "-f", "settings/PS_Module.xml", "-c", "PSquickTest")
    assert done.returncode == 0, done.stderr
    lines = [parse_line(raw) for raw in done.stdout.splitlines()]
    assert "\x1b[" in done.stdout  # coloured, as Ph2_ACF is
    kinds = [line.kind for line in lines if line.kind is not Kind.OTHER]
    assert kinds[:3] == [Kind.CONFIGURED, Kind.RUN_STARTED, Kind.STEP_STARTED]
    assert kinds[-4:] == [Kind.RESULT_FILE, Kind.RUN_STOPPED, Kind.MONITOR_FILE, Kind.HALTED]
    assert all(line.level == "I" and line.thread for line in lines if line.kind is not Kind.OTHER)
    assert lines[-2].text.startswith("Total execution time:")
    assert (tmp_path / "RunNumbers.dat").read_text().strip() == "1"
    results = tmp_path / "Results" / "Run_1"
    assert (results / "Configuration.xml").read_text() == (tmp_path / "settings/PS_Module.xml").read_text()
    meta = read_metadata(results / "Results.root")
    assert meta["missing"] == []
    assert meta["git_hash"] and len(meta["git_hash"]) == 40
    assert list(meta["fuse_ids"]) == ["Board_0/OpticalGroup_0"]
    assert meta["start_local"] <= meta["stop_local"]
    again = run_sim(tmp_path, "-b", "-f", "settings/PS_Module.xml", "-c", "pedenoise")
    assert "Run 2 started" in again.stdout


def test_a_missing_stop_timestamp_is_recorded_as_missing(tmp_path: Path) -> None:
    run_sim(tmp_path, "-b", "-f", "s.xml", "-c", "pedenoise", PH2ACF_SIM_NO_STOP_TS="1")
    meta = read_metadata(tmp_path / "Results/Run_1/Results.root")
    assert meta["missing"] == ["Detector/CalibrationStopTimestamp_Detector"]
    assert meta["stop_local"] is None


def test_a_file_that_is_not_root_is_an_error_not_a_crash(tmp_path: Path) -> None:
    bad = tmp_path / "Results.root"
    bad.write_bytes(b"not a ROOT file")
    assert "error" in read_metadata(bad)


@pytest.mark.parametrize(
    ("fail", "code", "text"),
    [
        ("controlhub", -signal.SIGABRT, "ControlHub returned error code 3"),
        ("host", -signal.SIGABRT, "Host not found (authoritative)"),
        ("noobject", 1, "No object enabled in fDetectorContainer"),
        ("lpgbt", 0, "lpGBT TX Ready polling : FAILED"),
    ],
)
def test_each_known_failure(tmp_path: Path, fail: str, code: int, text: str) -> None:
    done = run_sim(tmp_path, "-b", "-f", "s.xml", "-c", "pedenoise", PH2ACF_SIM_FAIL=fail)
    assert done.returncode == code
    assert text in done.stdout + done.stderr
    assert not (tmp_path / "Results").exists()


def test_an_unknown_calibration_and_no_base_dir(tmp_path: Path) -> None:
    done = run_sim(tmp_path, "-b", "-f", "s.xml", "-c", "nope")
    assert done.returncode == 1
    assert "Error: calibration tag nope does not exist" in done.stdout
    env = {k: v for k, v in os.environ.items() if k != "PH2ACF_BASE_DIR"}
    bare = subprocess.run(
        [*SIM, "-b", "-c", "pedenoise"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert bare.returncode == 1
    assert "PH2ACF_BASE_DIR" in bare.stderr


def test_sigint_aborts_as_ph2acf_does(tmp_path: Path) -> None:
    env = {**os.environ, "PH2ACF_BASE_DIR": "/x", "PH2ACF_SIM_MAKE_SETTINGS": "1", "PH2ACF_SIM_FAIL": "hang"}
    proc = subprocess.Popen(
        [*SIM, "-b", "-f", "s.xml", "-c", "pedenoise"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for raw in proc.stdout:
        if parse_line(raw).kind is Kind.STEP_STARTED:
            break
    proc.send_signal(signal.SIGINT)
    assert proc.wait(TIMEOUT) == -signal.SIGABRT
