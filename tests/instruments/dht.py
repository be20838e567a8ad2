"""The seed's Arduino with a DHT sensor: it prints a temperature and a humidity line, unasked."""

from __future__ import annotations


class DhtEmulator:
    """Prints ``Temperature: 23.40 *C`` and ``Humidity: 45.00 %`` at each stream tick."""

    def __init__(self, temperature: float = 23.4, humidity: float = 45.0) -> None:
        self.temperature = temperature
        self.humidity = humidity
        self.sensor_failed = False  # the sketch prints an error line instead

    def handle(self, line: str) -> str | None:
        return None  # the sketch reads nothing

    def stream(self) -> list[str]:
        if self.sensor_failed:
            return ["Failed to read from DHT sensor!"]
        return [f"Temperature: {self.temperature:.2f} *C", f"Humidity: {self.humidity:.2f} %"]
