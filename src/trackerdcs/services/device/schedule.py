"""When a device polls and publishes its status: on a grid, at a phase of its own.

A device that waited a poll after each sample drifted, so the devices of a stand fell
into step: at 160 devices their statuses came in bursts of up to three times the
average rate, and a command arriving in a burst waited for the CPU behind them. On a
grid, at phases spread over the period by the devices' places in the stand file, the
statuses of a stand arrive one after another (docs/decisions/0033).
"""

from __future__ import annotations

import math


class Schedule:
    """A status every ``period`` s at ``phase`` (s past a whole number of periods on the
    monotonic clock), polls every ``poll`` s on the same grid in between."""

    def __init__(self, period: float, poll: float, phase: float = 0.0) -> None:
        self.period, self.poll, self.phase = period, poll, phase
        self._last = -math.inf  # when the last status went out

    def until_poll(self, now: float) -> float:
        """Seconds from ``now`` to the next poll."""
        return self.poll - (now - self.phase) % self.poll

    def due(self, now: float) -> bool:
        """Whether a status is due at the poll of ``now`` (a timer may fire a hair early)."""
        return now >= self._next() - self.poll / 2

    def published(self, now: float) -> None:
        """A status went out at ``now``, periodic or not."""
        self._last = now

    def _next(self) -> float:
        """The next periodic status: the grid point after the last status (at most a
        period and half a poll later), with the period as it is now."""
        if self._last == -math.inf:
            return self._last
        after = self._last + self.poll / 2
        return self.phase + math.ceil((after - self.phase) / self.period) * self.period


def phase_of(index: int, count: int, period: float) -> float:
    """The phase of the ``index``-th of ``count`` devices: spread evenly over its period."""
    return index / count * period if count else 0.0
