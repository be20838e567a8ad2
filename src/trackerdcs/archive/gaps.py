"""Count the samples a device published that never reached the archive.

Every status carries the device's sequence number. A jump forward is a gap; a step
back is a restarted device or a message delivered again after a crash, and simply
restarts the count from there.
"""

from __future__ import annotations


class GapCounter:
    def __init__(self) -> None:
        self.last: dict[str, int] = {}
        self.missing: dict[str, int] = {}

    def see(self, device: str, seq: int) -> int:
        """Note a sequence number; return how many were skipped before it."""
        last = self.last.get(device)
        self.last[device] = seq
        if last is None or seq <= last + 1:
            return 0
        skipped = seq - last - 1
        self.missing[device] = self.missing.get(device, 0) + skipped
        return skipped

    @property
    def total(self) -> int:
        return sum(self.missing.values())
