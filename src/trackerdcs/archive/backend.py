"""What every archive backend does: store points, answer a history query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from trackerdcs.archive.lineproto import Field
from trackerdcs.archive.points import Point


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


class Backend(Protocol):
    def write(self, points: list[Point]) -> None:
        """Store points; raise :class:`Unavailable` or :class:`Rejected`."""

    def history(self, query: Query) -> Series:
        """The values of one field, oldest first."""

    def count(self, measurement: str) -> int:
        """How many points a measurement holds (the tests' proof that nothing was lost)."""

    def close(self) -> None:
        """Release connections."""
