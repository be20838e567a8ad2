"""The run record: created before the process starts, completed when it has ended.

``start`` and ``stop`` are UTC datetimes to the millisecond (what MongoDB keeps), and the
conditions are summarised over exactly that window, so the record's window selects exactly
the archive's points it summarises. Ph2_ACF's own timestamps are local time: the record
keeps the local times and the zone too.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import uuid
from pathlib import Path
from typing import Any

from trackerdcs.daq.tracker import RunTracker, exit_fields

LOCAL = "%Y-%m-%d %H:%M:%S"


def new_id(stand: str, now: float) -> str:
    return f"{stand}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime(now))}-{uuid.uuid4().hex[:6]}"


def floor_ms(ts: float) -> float:
    return math.floor(ts * 1000) / 1000


def ceil_ms(ts: float) -> float:
    return math.ceil(ts * 1000) / 1000


def utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


def local_fields(prefix: str, ts: float) -> dict[str, Any]:
    local = time.localtime(ts)
    return {
        f"{prefix}_local": time.strftime(LOCAL, local),
        "timezone": time.strftime("%Z", local),
        "utc_offset_s": local.tm_gmtoff,
    }


def first_record(
    run_id: str, stand: str, request: dict[str, Any], modules: list[str], config: str, start: float
) -> dict[str, Any]:
    return {
        "id": run_id,
        "stand": stand,
        "run": None,
        "calibration": request["calibration"],
        "modules": modules,
        "config": config,
        "session": request.get("session"),
        "operator": request.get("operator"),
        "note": request.get("note"),
        "status": "starting",
        "start": utc(start),
        "stop": None,
        **local_fields("start", start),
    }


def final_fields(tracker: RunTracker, returncode: int | None, start: float, stop: float) -> dict[str, Any]:
    return {
        "run": tracker.run,
        "status": tracker.status,
        "state": tracker.state.value,
        "error_class": tracker.error_class.value if tracker.error_class else None,
        "error_line": tracker.error_line,
        **exit_fields(returncode),
        "stop_reason": tracker.stop_reason.value if tracker.stop_reason else None,
        "stop_detail": tracker.stop_detail,
        "steps": tracker.steps,
        "stop": utc(stop),
        "stop_local": time.strftime(LOCAL, time.localtime(stop)),
        "duration": round(stop - start, 3),
        "ph2acf_first_line_local": tracker.first_local,
        "ph2acf_last_line_local": tracker.last_local,
    }


def run_number_check(workdir: Path, run: int | None) -> str:
    """Cross-check the run number of ``Run N started`` against RunNumbers.dat."""
    try:
        recorded = int((workdir / "RunNumbers.dat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return "no RunNumbers.dat" if run is not None else "no run number"
    if run is None:
        return f"no 'Run N started' line; RunNumbers.dat says {recorded}"
    return "ok" if recorded == run else f"mismatch: the log says {run}, RunNumbers.dat says {recorded}"


def file_fields(
    workdir: Path, results: str | None, monitor: str | None, logs: tuple[Path, Path]
) -> dict[str, Any]:
    folder = (workdir / results).parent if results else None
    return {
        "files": {
            "results": str(workdir / results) if results else None,
            "monitor": str(workdir / monitor) if monitor else None,
            "configuration": str(folder / "Configuration.xml") if folder else None,
            "log": str(logs[0]),
            "stderr_log": str(logs[1]),
        }
    }
