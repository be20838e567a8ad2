"""A stateful Julabo chiller emulator: queries answer a line, settings answer nothing.

The bath relaxes towards the setpoint while running (towards ``ambient`` when stopped)
on the emulator's clock. An alarm (negative status code) stops the pump and refuses a
start; in manual mode every ``out_`` command is ignored, as on the real unit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

TAU_S = 60.0  # s, the bath's time constant
MODES = {(False, False): "00 MANUAL STOP", (False, True): "01 MANUAL START"}
MODES |= {(True, False): "02 REMOTE STOP", (True, True): "03 REMOTE START"}


class JulaboEmulator:
    """A Julabo FP50 in remote mode."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, ambient: float = 22.0) -> None:
        self.clock = clock
        self.ambient = ambient
        self.bath = ambient
        self.setpoint = 20.0
        self.running = False
        self.remote = True
        self.alarm: tuple[int, str] | None = None
        self._last = clock()

    def handle(self, line: str) -> str | None:
        self._advance()
        word, _, argument = line.strip().partition(" ")
        if word.startswith("out_"):
            self._set(word, argument.strip())
            return None
        queries: dict[str, Callable[[], str]] = {
            "version": lambda: "JULABO FP50-HE VERSION 1.0",
            "status": self._status,
            "in_pv_00": lambda: f"{self.bath:.2f}",
            "in_sp_00": lambda: f"{self.setpoint:.2f}",
            "in_mode_05": lambda: str(int(self.running)),
        }
        answer = queries.get(word)
        return answer() if answer else "-09 INVALID COMMAND"

    def raise_alarm(self, code: int = -1, message: str = "LOW LIQUID LEVEL ALARM") -> None:
        self.alarm = (code, message)
        self.running = False

    def _status(self) -> str:
        if self.alarm is not None:
            return f"{self.alarm[0]:03d} {self.alarm[1]}"
        return MODES[(self.remote, self.running)]

    def _set(self, word: str, argument: str) -> None:
        if not self.remote:
            return
        try:
            value = float(argument)
        except ValueError:
            return
        if word == "out_sp_00":
            self.setpoint = value
        elif word == "out_mode_05":
            self.running = bool(value) and self.alarm is None

    def _advance(self) -> None:
        now = self.clock()
        dt, self._last = max(now - self._last, 0.0), now
        target = self.setpoint if self.running else self.ambient
        self.bath = target + (self.bath - target) * math.exp(-dt / TAU_S)
