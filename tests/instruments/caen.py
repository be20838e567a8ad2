"""A stateful CAEN N1470 emulator speaking the module's ASCII protocol.

Commands ``$BD:00,CMD:MON|SET,CH:<0..3, 4 = all>,PAR:<par>[,VAL:<value>]``; answers
``#BD:00,CMD:OK[,VAL:...]`` or ``#BD:00,<CMD|CH|PAR|VAL>:ERR``. Channels ramp at RUP/RDW
on the emulator's clock, draw ``vmon / load_ohm`` plus an injectable extra current, show
OVC above ISET and trip after the TRIP time, and report the STAT bits of the manual.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

BITS = {"ON": 0, "RUP": 1, "RDW": 2, "OVC": 3, "OVV": 4, "UNV": 5, "MAXV": 6, "TRIP": 7}
BITS |= {"OVP": 8, "OVT": 9, "DIS": 10, "KILL": 11, "ILK": 12, "NOCAL": 13}
RANGES = {
    "VSET": (0.0, 8000.0),
    "ISET": (0.0, 3000.0),
    "MAXV": (0.0, 8000.0),
    "RUP": (1.0, 500.0),
    "RDW": (1.0, 500.0),
    "TRIP": (0.0, 1000.0),
}


@dataclass
class CaenChannel:
    """One output: settings as the instrument stores them (ISET in µA)."""

    vset: float = 0.0
    iset: float = 100.0
    maxv: float = 8000.0
    rup: float = 50.0
    rdw: float = 50.0
    trip: float = 10.0
    pdwn: str = "RAMP"
    on: bool = False
    vmon: float = 0.0
    tripped: bool = False
    load_ohm: float = 1e9
    extra_ua: float = 0.0  # injected current (a breakdown), µA
    over_for: float = 0.0  # how long the current has been above ISET, s
    flags: int = 0  # extra STAT bits forced by a test (ILK, OVT, ...)

    @property
    def imon(self) -> float:
        return self.vmon / self.load_ohm * 1e6 + (self.extra_ua if self.vmon > 0 else 0.0)

    @property
    def target(self) -> float:
        return min(self.vset, self.maxv) if self.on else 0.0

    def advance(self, dt: float) -> None:
        delta = self.target - self.vmon
        speed = self.rup if delta > 0 else self.rdw
        step = min(abs(delta), speed * dt)
        self.vmon += step if delta > 0 else -step
        self.over_for = self.over_for + dt if self.imon > self.iset else 0.0
        if self.on and self.imon > self.iset and self.over_for >= self.trip:
            self.on, self.tripped = False, True
            if self.pdwn == "KILL":
                self.vmon = 0.0

    def status(self) -> int:
        bits = {
            "ON": self.on,
            "RUP": self.vmon < self.target - 1e-6,
            "RDW": self.vmon > self.target + 1e-6,
            "OVC": self.imon > self.iset and self.vmon > 0,
            "TRIP": self.tripped,
        }
        return sum(1 << BITS[name] for name, set_ in bits.items() if set_) | self.flags


class CaenN1470Emulator:
    """Four channels of a CAEN N1470 at one board address."""

    name = "N1470"

    def __init__(
        self, board: int = 0, channels: int = 4, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.board = board
        self.channels = [CaenChannel() for _ in range(channels)]
        self.clock = clock
        self._last = clock()

    def handle(self, line: str) -> str | None:
        fields = dict(part.split(":", 1) for part in line.lstrip("$").split(",") if ":" in part)
        if not line.startswith("$") or fields.get("BD") != f"{self.board:02d}":
            return None  # another board's command, or noise: a real module stays silent
        self._advance()
        if fields.get("CMD") == "MON":
            return self._monitor(fields)
        if fields.get("CMD") == "SET":
            return self._set(fields)
        return self._answer("CMD:ERR")

    def _advance(self) -> None:
        now = self.clock()
        dt, self._last = max(now - self._last, 0.0), now
        for channel in self.channels:
            channel.advance(dt)

    def _answer(self, text: str) -> str:
        return f"#BD:{self.board:02d},{text}"

    def _selected(self, fields: dict[str, str], allow_all: bool) -> list[CaenChannel] | None:
        try:
            ch = int(fields["CH"])
        except (KeyError, ValueError):
            return None
        if allow_all and ch == len(self.channels):
            return self.channels
        return [self.channels[ch]] if 0 <= ch < len(self.channels) else None

    def _monitor(self, fields: dict[str, str]) -> str:
        par = fields.get("PAR", "")
        if par == "BDNAME":
            return self._answer(f"CMD:OK,VAL:{self.name}")
        if par == "BDNCH":
            return self._answer(f"CMD:OK,VAL:{len(self.channels)}")
        selected = self._selected(fields, allow_all=True)
        if selected is None:
            return self._answer("CH:ERR")
        values = [self._value(channel, par) for channel in selected]
        if None in values:
            return self._answer("PAR:ERR")
        return self._answer("CMD:OK,VAL:" + ";".join(v for v in values if v is not None))

    @staticmethod
    def _value(channel: CaenChannel, par: str) -> str | None:
        numbers = {
            "VSET": channel.vset,
            "VMON": channel.vmon,
            "ISET": channel.iset,
            "IMON": channel.imon,
            "MAXV": channel.maxv,
            "RUP": channel.rup,
            "RDW": channel.rdw,
            "TRIP": channel.trip,
        }
        if par in numbers:
            return f"{numbers[par]:06.1f}" if par != "IMON" and par != "ISET" else f"{numbers[par]:07.2f}"
        if par == "STAT":
            return f"{channel.status():05d}"
        if par == "PDWN":
            return channel.pdwn
        return None

    def _set(self, fields: dict[str, str]) -> str:
        par = fields.get("PAR", "")
        if par == "BDCLR":
            for channel in self.channels:
                channel.tripped = False
            return self._answer("CMD:OK")
        selected = self._selected(fields, allow_all=False)
        if selected is None:
            return self._answer("CH:ERR")
        [channel] = selected
        if par in ("ON", "OFF"):
            channel.on = par == "ON" and not channel.flags
            channel.tripped = False if par == "OFF" else channel.tripped
            return self._answer("CMD:OK")
        if par == "PDWN":
            if fields.get("VAL") not in ("RAMP", "KILL"):
                return self._answer("VAL:ERR")
            channel.pdwn = fields["VAL"]
            return self._answer("CMD:OK")
        return self._set_number(channel, par, fields.get("VAL", ""))

    def _set_number(self, channel: CaenChannel, par: str, text: str) -> str:
        if par not in RANGES:
            return self._answer("PAR:ERR")
        try:
            value = float(text)
        except ValueError:
            return self._answer("VAL:ERR")
        low, high = RANGES[par]
        if not low <= value <= high:
            return self._answer("VAL:ERR")
        setattr(channel, par.lower(), value)
        return self._answer("CMD:OK")
