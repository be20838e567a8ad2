"""What every archive backend does: store points, answer a history query."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from trackerdcs.archive.lineproto import Field
from trackerdcs.archive.points import Message, Point, decode


class Unavailable(Exception):
    """The database cannot be reached or is failing; try again later."""


class Rejected(Exception):
    """The database refused the data itself; retrying will not help."""


@dataclass(frozen=True)
class Query:
    device: str
    field: str
    channel: str | None = None  # the ``number`` tag; None for sensors without channels
    since: float = 0.0  # s since the epoch
    until: float | None = None
    limit: int = 100_000


Series = list[tuple[float, Field]]  # (time in s since the epoch, value)


@dataclass
class Report:
    """What a batch of messages held."""

    points: int = 0
    seqs: list[tuple[str, int | None]] = field(default_factory=list)  # per status: device, seq
    errors: list[str] = field(default_factory=list)


class Backend(Protocol):
    form: str  # what trackerdcs.archive.prepare makes for it: "lines" or "rows"

    def write(self, points: list[Point]) -> None:
        """Store points; raise :class:`Unavailable` or :class:`Rejected`."""

    def commit(self, prepared: Any) -> None:
        """Store a prepared segment (:class:`trackerdcs.archive.prepare.Prepared`); raise as :meth:`write`."""

    def history(self, query: Query) -> Series:
        """The values of one field, oldest first."""

    def count(self, measurement: str) -> int:
        """How many points a measurement holds (the tests' proof that nothing was lost)."""

    def close(self) -> None:
        """Release connections."""


def decode_messages(messages: Iterable[Message]) -> tuple[list[Point], Report]:
    """The general path from messages to points, for backends that take points."""
    points: list[Point] = []
    report = Report()
    for message in messages:
        decoded = decode(message)
        if decoded.error:
            report.errors.append(decoded.error)
        points.extend(decoded.points)
        if decoded.device is not None and message.topic.endswith("/status"):
            report.seqs.append((decoded.device, decoded.seq))
    report.points = len(points)
    return points, report
