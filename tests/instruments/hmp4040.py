"""A stateful R&S HMP4040 emulator: four channels into resistive loads.

It keeps what it is told: the selected channel, each channel's voltage, current limit
and output, and the master output. A channel delivers its voltage only while both its
output and the master are on; a load that would draw more than the limit puts the
channel in constant current (the voltage drops to limit × load).
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.instruments.scpi import Message, number, parse

IDN = "ROHDE&SCHWARZ,HMP4040,100000,HW50020001/SW2.51"


@dataclass
class Channel:
    voltage: float = 0.0
    current: float = 0.1  # the limit, A
    active: bool = False
    load: float = 10.0  # ohm

    def output(self, master: bool) -> tuple[float, float]:
        if not (master and self.active):
            return 0.0, 0.0
        amps = self.voltage / self.load
        if amps > self.current:  # constant current
            return self.current * self.load, self.current
        return self.voltage, amps


class HMP4040Emulator:
    """Answers the HMP4040's SCPI as pymeasure's driver sends it."""

    def __init__(self) -> None:
        self.channels = [Channel() for _ in range(4)]
        self.selected = 1
        self.master = False

    @property
    def channel(self) -> Channel:
        return self.channels[self.selected - 1]

    def handle(self, line: str) -> str | None:
        message = parse(line)
        if message.query:
            return self._query(message)
        self._set(message)
        return None

    def _query(self, message: Message) -> str | None:
        voltage, current = self.channel.output(self.master)
        answers = {
            "*IDN": IDN,
            "INST:NSEL": str(self.selected),
            "VOLT": f"{self.channel.voltage:.3f}",
            "CURR": f"{self.channel.current:.4f}",
            "OUTP:SEL": str(int(self.channel.active)),
            "OUTP:GEN": str(int(self.master)),
            "MEAS:VOLT": f"{voltage:.4f}",
            "MEAS:CURR": f"{current:.5f}",
        }
        return answers.get(message.header)

    def _set(self, message: Message) -> None:
        arg = message.argument
        if message.header == "INST:NSEL" and arg in ("1", "2", "3", "4"):
            self.selected = int(arg)
        elif message.header == "VOLT":
            self.channel.voltage = min(max(number(arg), 0.0), 32.05)
        elif message.header == "CURR":
            self.channel.current = min(max(number(arg), 0.0), 10.0)
        elif message.header == "OUTP:SEL":
            self.channel.active = arg in ("1", "ON")
        elif message.header == "OUTP:GEN":
            self.master = arg in ("1", "ON")
