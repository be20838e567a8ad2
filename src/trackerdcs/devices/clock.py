"""Injectable time, so that a simulated 100 s ramp is tested in milliseconds."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Where devices read the time."""

    def monotonic(self) -> float:
        """Get seconds from an arbitrary origin, never going backwards."""

    def time(self) -> float:
        """Get the wall-clock time in UNIX seconds (the measurement time)."""


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._wall0 = start
        self._t = 0.0

    def monotonic(self) -> float:
        return self._t

    def time(self) -> float:
        return self._wall0 + self._t

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time cannot go backwards")
        self._t += seconds
