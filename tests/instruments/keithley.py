"""A stateful Keithley 2410 SourceMeter emulator: a voltage source into a leaky sensor.

It keeps the source voltage, the compliance current and the output. While the output
is on the sensor draws ``V / leakage_ohm``; a current above the compliance clamps it
at the compliance (the voltage drops to compliance × leakage) and raises the
compliance flag (``:SENS:CURR:PROT:TRIP?``) and status bit 3.
"""

from __future__ import annotations

from tests.instruments.scpi import Message, number, parse

IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 2410,4000000,C34 Sep 21 2016 15:30:00/A02  /K/J"
COMPLIANCE_BIT = 8


class Keithley2410Emulator:
    """Answers the 2400-series SCPI as pymeasure's Keithley2400 driver sends it."""

    def __init__(self, leakage_ohm: float = 1e9) -> None:
        self.leakage_ohm = leakage_ohm
        self.source_voltage = 0.0
        self.compliance = 105e-6
        self.output = False
        self.function = "VOLT"

    def measure(self) -> tuple[float, float, bool]:
        """Voltage, current and whether the current is at compliance."""
        if not self.output:
            return 0.0, 0.0, False
        current = self.source_voltage / self.leakage_ohm
        if abs(current) > self.compliance:
            sign = 1.0 if current > 0 else -1.0
            return sign * self.compliance * self.leakage_ohm, sign * self.compliance, True
        return self.source_voltage, current, False

    def handle(self, line: str) -> str | None:
        message = parse(line)
        if message.query:
            return self._query(message)
        self._set(message)
        return None

    def _query(self, message: Message) -> str | None:
        voltage, current, limited = self.measure()
        reading = f"{voltage:+.6E},{current:+.6E},+9.910000E+37,+1.000000E+00,{COMPLIANCE_BIT if limited else 0:+.6E}"
        answers = {
            "*IDN": IDN,
            "OUTP": str(int(self.output)),
            "SOUR:VOLT": f"{self.source_voltage:+.6E}",
            "SOUR:FUNC": self.function,
            "SENS:CURR:PROT": f"{self.compliance:+.6E}",
            "SENS:CURR:PROT:TRIP": str(int(limited)),
            "MEAS:VOLT": reading,
            "MEAS:CURR": reading,
            "READ": reading,
        }
        return answers.get(message.header)

    def _set(self, message: Message) -> None:
        arg = message.argument
        if message.header == "OUTP":
            self.output = arg.upper() in ("1", "ON")
        elif message.header == "SOUR:VOLT":
            self.source_voltage = max(-1100.0, min(1100.0, number(arg)))
        elif message.header == "SENS:CURR:PROT":
            self.compliance = max(0.0, min(1.05, number(arg)))
        elif message.header == "SOUR:FUNC":
            self.function = arg.upper()[:4]
