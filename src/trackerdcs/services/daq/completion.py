"""Completing a run's record once its process has ended (blocking: runs in a thread).

It reads what Ph2_ACF wrote (Results.root's metadata, RunNumbers.dat), the output's tails,
and the conditions over the run's window from the archive.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trackerdcs.archive.backend import Backend, Unavailable
from trackerdcs.services.daq.conditions import caught_up, collect, run_signals
from trackerdcs.services.daq.record import (
    ceil_ms,
    file_fields,
    final_fields,
    first_record,
    floor_ms,
    run_number_check,
)
from trackerdcs.services.daq.results import read_metadata
from trackerdcs.stand import Stand

if TYPE_CHECKING:
    from trackerdcs.services.daq.service import ActiveRun

log = logging.getLogger(__name__)

ARCHIVE_WAIT = 10.0  # s the archive may lag behind the bus at a run's end


class Completion:
    def __init__(self, stand: Stand, workdir: Path, archive: Callable[[], Backend] | None) -> None:
        self.stand = stand
        self.workdir = workdir
        self.archive = archive

    def record(self, active: ActiveRun, returncode: int | None, stop: float) -> dict[str, Any]:
        assert active.process is not None
        process, tracker = active.process, active.tracker
        start = floor_ms(active.started)
        end = ceil_ms(stop)
        default = self.stand.daq.config if self.stand.daq is not None else ""
        config = str(active.request.get("config") or default)
        record = first_record(active.id, self.stand.name, active.request, active.modules, config, start)
        record.update(final_fields(tracker, returncode, start, end))
        record.update(file_fields(self.workdir, tracker.results, tracker.monitor, process.launch.logs))
        record["argv"] = process.launch.argv
        record["launched_at"] = process.launched_at
        record["log_tail"], record["stderr_tail"] = list(process.tails[0]), list(process.tails[1])
        record["run_number_check"] = run_number_check(self.workdir, tracker.run)
        record.update(self._results(record["files"]["results"]))
        record["conditions"], record["conditions_complete"] = self._conditions(active.modules, start, end)
        record["alarms"] = [a for a in active.alarms if not isinstance(a.get("ts"), float) or a["ts"] <= end]
        return record

    def _results(self, results: str | None) -> dict[str, Any]:
        if results is None:
            return {"ph2acf": {"missing": ["Results.root"]}, "git_hash": None, "hardware_ids": {}}
        meta = read_metadata(Path(results))
        return {"ph2acf": meta, "git_hash": meta.get("git_hash"), "hardware_ids": meta.get("fuse_ids", {})}

    def _conditions(self, modules: list[str], start: float, stop: float) -> tuple[list[dict[str, Any]], bool]:
        if self.archive is None:
            return [], False
        try:
            backend = self.archive()
        except Exception as exc:  # no archive: the record is kept without its conditions
            log.warning("cannot open the archive for the run's conditions: %s", exc)
            return [], False
        try:
            pairs, _ = run_signals(self.stand, modules)
            signals = [s for _, s in pairs]
            complete = caught_up(backend, signals, stop, ARCHIVE_WAIT) if signals else True
            return collect(backend, self.stand, modules, start, stop), complete
        except Unavailable as exc:
            log.warning("archive unavailable for the run's conditions: %s", exc)
            return [], False
        finally:
            backend.close()
