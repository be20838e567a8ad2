"""What the device service knows about a device in fault: why, and when to retry.

See docs/decisions/0010: a device whose read fails is in fault until a reconnect and
a read succeed again; meanwhile its status says ``state: "error"`` and commands get a
``device_error`` reply.
"""

from __future__ import annotations

from dataclasses import dataclass

from trackerdcs.contract.payloads import shorten
from trackerdcs.services.device.io_thread import DeviceTimeout


@dataclass
class Backoff:
    """Exponential retry delays in seconds: first, first·factor, … capped at ``cap``."""

    first: float = 0.5
    cap: float = 30.0
    factor: float = 2.0
    attempts: int = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.first * self.factor**self.attempts)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self.attempts = 0


def describe(exc: BaseException) -> str:
    """A one-line reason for the status and the replies."""
    if isinstance(exc, DeviceTimeout):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return shorten(f"{type(exc).__name__}: {text}" if text else type(exc).__name__, 200)
