"""What Ph2_ACF writes: RunNumbers.dat, Results/Run_N/, MonitorResults/, with real ROOT files."""

from __future__ import annotations

import re
import shutil
import time
import zlib
from pathlib import Path

GIT_HASH = "5b0a3f1c9e7d2a4b6c8e0f1a3b5c7d9e1f2a4b6c"  # what `git rev-parse HEAD` gave the build
DEFAULT_SETTINGS = """<?xml version="1.0" encoding="utf-8"?>
<HwDescription>
  <BeBoard Id="0" boardType="D19C" eventType="VR">
    <connection id="board" uri="chtcp-2.0://localhost:10203?target=192.168.0.100:50001"/>
    <OpticalGroup Id="0" FMCId="L12"/>
  </BeBoard>
  <MonitoringSettings>
    <MQTT broker="127.0.0.1" port="1883" topic="/ph2acf/data"/>
  </MonitoringSettings>
</HwDescription>
"""


def next_run_number(workdir: Path) -> int:
    """Read and increment RunNumbers.dat in the working directory, as Ph2_ACF does."""
    path = workdir / "RunNumbers.dat"
    try:
        previous = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        previous = 0
    path.write_text(f"{previous + 1}\n")
    return previous + 1


def optical_groups(settings: str) -> list[tuple[int, int]]:
    """(board, optical group) pairs of a hardware description."""
    found: list[tuple[int, int]] = []
    for board in re.finditer(r'<BeBoard[^>]*Id="(\d+)"(.*?)</BeBoard>', settings, re.S):
        found += [
            (int(board.group(1)), int(og))
            for og in re.findall(r'<OpticalGroup[^>]*Id="(\d+)"', board.group(2))
        ]
    return found


def mqtt_target(settings: str) -> tuple[str, int, str]:
    match = re.search(r'<MQTT[^>]*broker="([^"]+)"[^>]*port="(\d+)"[^>]*topic="([^"]+)"', settings)
    return (
        (match.group(1), int(match.group(2)), match.group(3))
        if match
        else ("127.0.0.1", 1883, "/ph2acf/data")
    )


def failure_in(settings: str) -> str:
    """``<Simulator fail="hang"/>`` in a hardware description: how this simulated run fails."""
    match = re.search(r'<Simulator[^>]*fail="([a-z]+)"', settings)
    return match.group(1) if match else ""


def step_in(settings: str) -> float | None:
    match = re.search(r'<Simulator[^>]*step="([0-9.]+)"', settings)
    return float(match.group(1)) if match else None


def fuse_id(board: int, group: int) -> str:
    return str(zlib.crc32(f"lpgbt-{board}-{group}".encode()))


def write_results(
    results: Path, settings_file: Path, start: float, stop: float | None, groups: list[tuple[int, int]]
) -> None:
    """Results.root with the metadata keys the Pisa tools read, and Configuration.xml."""
    import uproot  # slow to import: only when a run gets this far

    results.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(settings_file, results / "Configuration.xml")
    with uproot.recreate(results / "Results.root") as root:
        root["Detector/CalibrationStartTimestamp_Detector"] = _local(start)
        if stop is not None:
            root["Detector/CalibrationStopTimestamp_Detector"] = _local(stop)
        root["Detector/GitCommitHash_Detector"] = GIT_HASH
        for b, o in groups:
            root[f"Detector/Board_{b}/OpticalGroup_{o}/D_B({b})_LpGBTFuseId_OpticalGroup({o})"] = fuse_id(
                b, o
            )


def write_monitor(workdir: Path, started: float) -> str:
    import uproot

    name = time.strftime("MonitorDQM_%Y-%m-%d_%H-%M-%S.root", time.localtime(started))
    path = workdir / "MonitorResults" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with uproot.recreate(path) as root:
        root["Monitor/Started"] = _local(started)
    return f"MonitorResults/{name}"


def _local(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
