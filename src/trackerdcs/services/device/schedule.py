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
        self._next = -math.inf  # when the next periodic status is due

    def until_poll(self, now: float) -> float:
        """Seconds from ``now`` to the next poll."""
        return self.poll - (now - self.phase) % self.poll

    def due(self, now: float) -> bool:
        """Whether a status is due at the poll of ``now`` (a timer may fire a hair early)."""
        return now >= self._next - self.poll / 2

    def published(self, now: float) -> None:
        """A status went out at ``now`` (periodic or not): the next is due on the grid,
        at most a period (and half a poll) later."""
        after = now + self.poll / 2
        self._next = self.phase + math.ceil((after - self.phase) / self.period) * self.period


def phase_of(index: int, count: int, period: float) -> float:
    """The phase of the ``index``-th of ``count`` devices: spread evenly over its period."""
    return index / count * period if count else 0.0
