"""Move sealed spool segments into the backend, in order, counting what happened."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field

from trackerdcs.archive.backend import Backend, Rejected, Report
from trackerdcs.archive.gaps import GapCounter
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
    """Stores one segment at a time; raises :class:`Unavailable` to leave it in the spool."""

    def __init__(self, spool: Spool, backend: Backend) -> None:
        self.spool = spool
        self.backend = backend
        self.counters = Counters()

    def store(self, segment: int) -> set[str]:
        """Store a segment and remove it; return the devices that showed a gap."""
        messages = self.spool.read(segment)
        try:
            report = self.backend.write_messages(messages)
        except Rejected as exc:
            self._keep_rejected(segment, len(messages), exc)
            report = Report()
        self.spool.remove(segment)
        c = self.counters
        c.stored += report.points
        c.messages += len(messages)
        c.bad_messages += len(report.errors)
        for error in report.errors[:10]:
            log.warning("archive: %s", error)
        return {device for device, seq in report.seqs if seq is not None and c.gaps.see(device, seq)}

    def _keep_rejected(self, segment: int, count: int, exc: Rejected) -> None:
        folder = self.spool.directory / "rejected"
        folder.mkdir(exist_ok=True)
        shutil.copy2(self.spool.path(segment), folder)
        self.counters.rejected_messages += count
        log.error(
            "archive: the database refused segment %d (%d messages), kept in %s: %s",
            segment,
            count,
            folder,
            exc,
        )
