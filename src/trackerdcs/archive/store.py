"""The bookkeeping of storing spool segments: delete what is stored, count what happened.

The storing itself (parse, encode, write) runs in a worker process:
:func:`trackerdcs.archive.worker.store_segment`. A segment is deleted only once the
worker reports it stored, or set aside when the database refused it.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field

from trackerdcs.archive.backend import Rejected
from trackerdcs.archive.gaps import GapCounter
from trackerdcs.archive.prepare import Prepared
from trackerdcs.archive.spool import Spool

log = logging.getLogger(__name__)


@dataclass
class Counters:
    stored: int = 0  # points
    messages: int = 0
    rejected_messages: int = 0  # refused by the database (kept in the spool's rejected/ folder)
    bad_messages: int = 0  # payloads that are not JSON
    gaps: GapCounter = field(default_factory=GapCounter)


class SegmentStore:
    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.counters = Counters()

    def rejected(self, segment: int, exc: Rejected) -> None:
        """The database refused the segment: keep a copy aside, count it, go on."""
        folder = self.spool.directory / "rejected"
        folder.mkdir(exist_ok=True)
        shutil.copy2(self.spool.path(segment), folder)
        count = len(self.spool.read(segment))
        self.counters.rejected_messages += count
        log.error("database refused segment %d (%d messages), kept in %s: %s", segment, count, folder, exc)
        self.spool.remove(segment)

    def stored(self, segment: int, prepared: Prepared) -> set[str]:
        """The segment is in the database: delete it and count; return devices with gaps."""
        self.spool.remove(segment)
        c, report = self.counters, prepared.report
        c.stored += report.points
        c.messages += prepared.messages
        c.bad_messages += len(report.errors)
        for error in report.errors[:10]:
            log.warning("archive: %s", error)
        return {device for device, seq in report.seqs if seq is not None and c.gaps.see(device, seq)}
