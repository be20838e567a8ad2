"""Move sealed spool segments into the backend, in order, counting what happened.

Storing a segment has two halves: :func:`trackerdcs.archive.prepare.prepare_segment`
(CPU: parse and encode, may run in another process) and :meth:`SegmentStore.commit`
(I/O: write, then delete the segment). A segment is deleted only once it is stored.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field

from trackerdcs.archive.backend import Backend, Rejected
from trackerdcs.archive.gaps import GapCounter
from trackerdcs.archive.prepare import Prepared, prepare_segment
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
    def __init__(self, spool: Spool, backend: Backend) -> None:
        self.spool = spool
        self.backend = backend
        self.counters = Counters()

    def prepare(self, segment: int) -> Prepared:
        """Both halves in this process (for tests and small stands)."""
        return prepare_segment(str(self.spool.path(segment)), self.backend.form)

    def store(self, segment: int) -> set[str]:
        return self.commit(segment, self.prepare(segment))

    def commit(self, segment: int, prepared: Prepared) -> set[str]:
        """Write a prepared segment and delete it; return the devices that showed a gap.

        Raises :class:`Unavailable` (the segment stays, to be written again later).
        """
        try:
            self.backend.commit(prepared)
        except Rejected as exc:
            return self.rejected(segment, prepared.messages, exc)
        return self.stored(segment, prepared)

    def rejected(self, segment: int, messages: int, exc: Rejected) -> set[str]:
        """The database refused the segment: keep a copy aside, count it, go on."""
        self._keep_rejected(segment, messages, exc)
        self.spool.remove(segment)
        return set()

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

    def _keep_rejected(self, segment: int, count: int, exc: Rejected) -> None:
        folder = self.spool.directory / "rejected"
        folder.mkdir(exist_ok=True)
        shutil.copy2(self.spool.path(segment), folder)
        self.counters.rejected_messages += count
        log.error(
            "archive: database refused segment %d (%d messages), kept in %s: %s", segment, count, folder, exc
        )
