"""Move sealed spool segments into the backend, in order, counting what happened."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field

from trackerdcs.archive.backend import Backend, Rejected
from trackerdcs.archive.gaps import GapCounter
from trackerdcs.archive.points import Point, decode
from trackerdcs.archive.spool import Spool

log = logging.getLogger(__name__)


@dataclass
class Counters:
    stored: int = 0  # points
    messages: int = 0
    rejected: int = 0  # points the database refused (kept in the spool's rejected/ folder)
    bad_messages: int = 0  # payloads that are not JSON
    gaps: GapCounter = field(default_factory=GapCounter)
    last_ts: float = 0.0  # measurement time of the newest stored point


class SegmentStore:
    """Stores one segment at a time; raises :class:`Unavailable` to leave it in the spool."""

    def __init__(self, spool: Spool, backend: Backend) -> None:
        self.spool = spool
        self.backend = backend
        self.counters = Counters()

    def store(self, segment: int) -> set[str]:
        """Store a segment and remove it; return the devices that showed a gap."""
        points, seqs = self._decode(segment)
        try:
            self.backend.write(points)
        except Rejected as exc:
            self._keep_rejected(segment, len(points), exc)
        else:
            self.counters.stored += len(points)
            if points:
                self.counters.last_ts = max(self.counters.last_ts, points[-1].time_ns / 1e9)
        self.spool.remove(segment)
        self.counters.messages += len(seqs)
        return {device for device, seq in seqs if seq is not None and self.counters.gaps.see(device, seq)}

    def _decode(self, segment: int) -> tuple[list[Point], list[tuple[str, int | None]]]:
        points: list[Point] = []
        seqs: list[tuple[str, int | None]] = []
        for message in self.spool.read(segment):
            decoded = decode(message)
            if decoded.error:
                self.counters.bad_messages += 1
                log.warning("archive: %s", decoded.error)
            points.extend(decoded.points)
            if decoded.device is not None:
                seqs.append((decoded.device, decoded.seq))
        return points, seqs

    def _keep_rejected(self, segment: int, count: int, exc: Rejected) -> None:
        folder = self.spool.directory / "rejected"
        folder.mkdir(exist_ok=True)
        shutil.copy2(self.spool.path(segment), folder)
        self.counters.rejected += count
        log.error(
            "archive: the database refused segment %d (%d points), kept in %s: %s",
            segment,
            count,
            folder,
            exc,
        )
