"""A Julabo circulating chiller (FP/F/CF/Magio series) on its RS-232 line protocol.

Queries answer one line, settings answer nothing (so every setting is read back)::

    version            ->  JULABO FP50-HE VERSION 1.0
    status             ->  03 REMOTE START   (00/01 manual stop/start, 02/03 remote;
                                              a negative code is an alarm or error)
    in_pv_00           ->  21.43             (bath temperature, °C)
    in_sp_00           ->  20.00             (working setpoint T1, °C)
    in_mode_05         ->  1                 (1 running, 0 stopped)
    out_sp_00 20.50    (set T1)
    out_mode_05 1      (start; 0 stops)

Commands end with CR, answers with CR LF. The classic units talk 4800 baud, 7 data bits,
even parity, RTS/CTS, and want about 250 ms between commands (``command_gap``); newer
ones 9600 8N1 (set ``baudrate`` etc. in the options). Setpoints outside
``setpoint_min``..``setpoint_max`` are rejected, never clipped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from trackerdcs.contract.payloads import CommandRejected, Reason, parse_number, parse_switch
from trackerdcs.devices.base import Command, Device, Sample, Scope
from trackerdcs.devices.clock import Clock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.drivers.link import DriverError, LineLink, serial_settings

log = logging.getLogger(__name__)

SERIAL_DEFAULTS: dict[str, Any] = {
    "baudrate": 4800,
    "bytesize": 7,
    "parity": "E",
    "stopbits": 1,
    "rtscts": True,
}
STATUS = re.compile(r"(-?\d+)\s+(.*)")
TOLERANCE = 0.01  # °C, read-back of a setpoint


def parse_status(answer: str) -> tuple[int, str]:
    """Split ``03 REMOTE START`` into its code and message."""
    match = STATUS.fullmatch(answer.strip())
    if match is None:
        raise DriverError(f"unexpected status answer {answer[:60]!r}")
    return int(match.group(1)), match.group(2).strip()


class JulaboChiller(Device):
    """A chiller (kind ``chiller``): commands ``setpoint`` and ``switch``, no channels."""

    kind = "chiller"

    def __init__(self, config: DeviceConfig, clock: Clock, link: LineLink, low: float, high: float) -> None:
        super().__init__(config, clock)
        if low >= high:
            raise ValueError(f"{config.name}: setpoint_min must be below setpoint_max")
        self.link = link
        self.low, self.high = low, high

    @property
    def channels(self) -> list[int]:
        return []

    # -- protocol ---------------------------------------------------------------------
    def number(self, query: str) -> float:
        answer = self.link.query(query)
        try:
            return float(answer)
        except ValueError:
            raise DriverError(f"{query}: unexpected answer {answer[:60]!r}") from None

    def status(self) -> tuple[int, str]:
        return parse_status(self.link.query("status"))

    # -- commands -----------------------------------------------------------------------
    def commands(self) -> Mapping[str, Command]:
        return {
            "setpoint": Command("setpoint", self._setpoint, Scope.DEVICE, "Set the bath setpoint in °C"),
            "switch": Command("switch", self._switch, Scope.DEVICE, "Start (on) or stop (off) the chiller"),
        }

    def _setpoint(self, _channel: int | None, text: str) -> str:
        value = parse_number(text)
        if not self.low <= value <= self.high:
            raise CommandRejected(
                Reason.OUT_OF_RANGE, f"setpoint {value:g} °C is outside [{self.low:g}, {self.high:g}] °C"
            )
        with self.link.lock:
            self.link.write_line(f"out_sp_00 {value:.2f}")
            readback = self.number("in_sp_00")
        if abs(readback - value) > TOLERANCE:
            raise DriverError(f"the chiller kept setpoint {readback:g} °C: is it in remote mode?")
        return f"setpoint set to {value:g} °C"

    def _switch(self, _channel: int | None, text: str) -> str:
        on = parse_switch(text)
        with self.link.lock:
            code, message = self.status()
            if on and code < 0:
                raise CommandRejected(Reason.DEVICE_ERROR, f"chiller alarm {code}: {message}; clear it first")
            self.link.write_line(f"out_mode_05 {int(on)}")
            running = self.number("in_mode_05")
        if bool(running) is not on:
            raise DriverError(f"the chiller did not {'start' if on else 'stop'}: is it in remote mode?")
        return "chiller started" if on else "chiller stopped"

    # -- status --------------------------------------------------------------------------
    def read(self) -> Sample:
        with self.link.lock:
            temperature = self.number("in_pv_00")
            setpoint = self.number("in_sp_00")
            on = int(self.number("in_mode_05"))
            code, message = self.status()
        if code < 0:
            log.warning("%s: chiller alarm %d: %s", self.name, code, message)
        body = {
            "temperature": temperature,
            "setpoint": setpoint,
            "on": on,
            "status_code": code,
            "status": message,
            "alarm": int(code < 0),
        }
        return Sample(self.clock.time(), body, (on, setpoint, code))

    def units(self) -> dict[str, str]:
        return {"temperature": "°C", "setpoint": "°C"}

    def limits(self) -> dict[str, dict[str, float]]:
        return {"setpoint": {"min": self.low, "max": self.high}}

    def close(self) -> None:
        self.link.close()

    def reconnect(self) -> None:
        self.link.reconnect()


def create(config: DeviceConfig, clock: Clock) -> Device:
    """Build a Julabo chiller from its stand-file entry; the port opens on first use."""
    if not config.resource:
        raise ValueError(f"{config.name}: the julabo driver needs a serial resource such as /dev/ttyUSB1")
    options = config.options
    link = LineLink(
        config.resource,
        timeout=float(options.get("timeout", 1.0)),
        write_terminator="\r",
        read_terminator="\n",
        settings=serial_settings(options, SERIAL_DEFAULTS),
        command_gap=float(options.get("command_gap", 0.25)),
    )
    low = float(options.get("setpoint_min", -30.0))
    high = float(options.get("setpoint_max", 40.0))
    return JulaboChiller(config, clock, link, low, high)
