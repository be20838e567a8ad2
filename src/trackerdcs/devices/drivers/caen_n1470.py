"""CAEN N1470 family (N1470, NDT1470, DT1471, ...): four HV channels, ASCII protocol.

No pymeasure (or other maintained Python) driver exists for these modules, so this one
is written by hand from the N1470 manual's command set::

    $BD:00,CMD:SET,CH:0,PAR:VSET,VAL:100.0   ->  #BD:00,CMD:OK
    $BD:00,CMD:MON,CH:4,PAR:VMON             ->  #BD:00,CMD:OK,VAL:0100.0;0000.0;0000.0;0000.0
    errors                                   ->  #BD:00,CMD:ERR | CH:ERR | PAR:ERR | VAL:ERR | LOC:ERR

Channel 4 (the number of channels) addresses every channel at once in a MON, so a poll
is three exchanges (VMON, IMON, STAT). The instrument does the ramping (RUP/RDW), the
current limit (ISET, in µA) and the trip (TRIP time, PDWN ramp or kill) itself; the
STAT bits are mapped onto :class:`ChannelState`.

Resources: a serial port (``/dev/ttyUSB0``; options ``baudrate`` etc., default 9600 8N1
with XON/XOFF as the manual says) or ``TCPIP::host::port::SOCKET`` for the Ethernet
models, which pyserial's ``socket://`` handler serves with the same code path.
"""

from __future__ import annotations

import logging
from typing import Any

from trackerdcs.contract.payloads import ChannelState, CommandRejected, Reason
from trackerdcs.devices.base import Device
from trackerdcs.devices.clock import Clock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.drivers.link import DriverError, LineLink, serial_settings
from trackerdcs.devices.supply import ChannelReading, ChannelSettings, PowerSupply

log = logging.getLogger(__name__)

STATUS_BITS = (
    "ON",
    "RUP",
    "RDW",
    "OVC",
    "OVV",
    "UNV",
    "MAXV",
    "TRIP",
    "OVP",
    "OVT",
    "DIS",
    "KILL",
    "ILK",
    "NOCAL",
)
TRIP_FLAGS = frozenset({"TRIP", "KILL"})
ERROR_FLAGS = frozenset({"OVC", "OVV", "UNV", "MAXV", "OVP", "OVT", "DIS", "ILK", "NOCAL"})
SERIAL_DEFAULTS: dict[str, Any] = {
    "baudrate": 9600,
    "bytesize": 8,
    "parity": "N",
    "stopbits": 1,
    "xonxoff": True,
}
ERRORS = {
    "CMD:ERR": "command not understood",
    "CH:ERR": "no such channel",
    "PAR:ERR": "no such parameter",
    "VAL:ERR": "value outside the instrument's range",
    "LOC:ERR": "the module is in LOCAL mode: switch it to REMOTE",
}


def decode_status(value: int) -> frozenset[str]:
    """Get the names of the STAT bits that are set."""
    return frozenset(name for bit, name in enumerate(STATUS_BITS) if value >> bit & 1)


def channel_state(flags: frozenset[str]) -> ChannelState:
    """Map STAT flags onto our channel state: trip first, then faults, then ramps."""
    if flags & TRIP_FLAGS:
        return ChannelState.TRIPPED
    if flags & ERROR_FLAGS:
        return ChannelState.ERROR
    if "RUP" in flags:
        return ChannelState.RAMPING_UP
    if "RDW" in flags:
        return ChannelState.RAMPING_DOWN
    return ChannelState.ON if "ON" in flags else ChannelState.OFF


class CaenN1470:
    """A :class:`~trackerdcs.devices.supply.SupplyDriver` for one CAEN board."""

    def __init__(self, link: LineLink, board: int = 0, channels: int = 4, board_channels: int = 4) -> None:
        self.link = link
        self.board = board
        self.channels = channels
        self.board_channels = board_channels
        self._on: dict[int, bool | None] = dict.fromkeys(range(channels))  # last ON/OFF sent
        self._flags: dict[int, frozenset[str]] = {}

    # -- protocol -------------------------------------------------------------------
    def query(self, command: str) -> str | None:
        """Send ``$BD:xx,<command>``; return the VAL of an OK answer, raise on an error."""
        answer = self.link.query(f"$BD:{self.board:02d},{command}")
        head = f"#BD:{self.board:02d},"
        if not answer.startswith(head):
            raise DriverError(f"unexpected answer to {command!r}: {answer[:60]!r}")
        body = answer[len(head) :]
        if body == "CMD:OK":
            return None
        if body.startswith("CMD:OK,VAL:"):
            return body[len("CMD:OK,VAL:") :]
        if body == "VAL:ERR":
            raise CommandRejected(Reason.OUT_OF_RANGE, f"{command}: {ERRORS[body]}")
        raise DriverError(f"{command}: {ERRORS.get(body, 'unexpected answer ' + repr(body[:60]))}")

    def set(self, channel: int, par: str, value: str | None = None) -> None:
        val = "" if value is None else f",VAL:{value}"
        self.query(f"CMD:SET,CH:{channel},PAR:{par}{val}")

    def monitor_all(self, par: str) -> list[str]:
        """Read one parameter of every channel (CH = number of channels means all)."""
        answer = self.query(f"CMD:MON,CH:{self.board_channels},PAR:{par}") or ""
        values = answer.split(";")
        if len(values) < self.channels:
            raise DriverError(f"MON {par}: expected {self.channels} values, got {answer[:60]!r}")
        return values[: self.channels]

    # -- set-up -----------------------------------------------------------------------
    def configure(self, vmax: float, trip_time: float, power_down: str) -> str:
        """Set the hardware voltage limit, trip time and power-down mode; return the board name."""
        with self.link.lock:
            name = self.query("CMD:MON,PAR:BDNAME") or "?"
            for ch in range(self.channels):
                self.set(ch, "MAXV", f"{vmax:.0f}")
                self.set(ch, "TRIP", f"{trip_time:.1f}")
                self.set(ch, "PDWN", power_down.upper())
        log.info("CAEN %s board %02d on %s: %d channels", name, self.board, self.link.url, self.channels)
        return name

    # -- SupplyDriver ---------------------------------------------------------------------
    def apply(self, channel: int, settings: ChannelSettings) -> None:
        with self.link.lock:
            self.set(channel, "VSET", f"{settings.vreq:.1f}")
            self.set(channel, "ISET", f"{settings.ilimit * 1e6:.2f}")  # the module takes µA
            self.set(channel, "RUP", f"{settings.ramp_up:g}")
            self.set(channel, "RDW", f"{settings.ramp_down:g}")
            if self._on[channel] is not settings.on:
                self.set(channel, "ON" if settings.on else "OFF")
                self._on[channel] = settings.on

    def clear_trip(self, channel: int) -> None:
        with self.link.lock:
            self.set(channel, "OFF")
            self._on[channel] = False
            self.query("CMD:SET,PAR:BDCLR")  # clears the board's alarm

    def poll(self, now: float) -> list[ChannelReading]:
        with self.link.lock:
            vmon = self.monitor_all("VMON")
            imon = self.monitor_all("IMON")
            stat = self.monitor_all("STAT")
        try:
            readings = [
                self._reading(ch, v, i, s) for ch, (v, i, s) in enumerate(zip(vmon, imon, stat, strict=True))
            ]
        except ValueError as exc:
            raise DriverError(f"unreadable monitor values: {exc}") from None
        return readings

    def _reading(self, ch: int, vmon: str, imon: str, stat: str) -> ChannelReading:
        flags = decode_status(int(stat))
        if flags != self._flags.get(ch, frozenset()) and flags & (ERROR_FLAGS | TRIP_FLAGS):
            log.warning("CAEN board %02d channel %d: %s", self.board, ch, " ".join(sorted(flags)))
        self._flags[ch] = flags
        state = channel_state(flags)
        if state is ChannelState.TRIPPED:
            self._on[ch] = False  # the module switched it off
        return ChannelReading(float(vmon), float(imon) * 1e-6, state)

    def close(self) -> None:
        self.link.close()

    def reconnect(self) -> None:
        with self.link.lock:
            self.link.reconnect()
            self._on = dict.fromkeys(range(self.channels))  # unknown until the next apply


class CaenSupply(PowerSupply):
    """A :class:`PowerSupply` on a CAEN board, with the link's close and reconnect."""

    def __init__(self, config: DeviceConfig, clock: Clock, driver: CaenN1470) -> None:
        super().__init__(config, clock, driver)
        self.caen = driver

    def close(self) -> None:
        self.caen.close()

    def reconnect(self) -> None:
        """Reopen the port (after an unplug or a reboot of the module)."""
        self.caen.reconnect()


def create(config: DeviceConfig, clock: Clock) -> Device:
    """Build a CAEN supply from its stand-file entry (opens the port and configures it)."""
    if not config.resource:
        raise ValueError(
            f"{config.name}: the caen_n1470 driver needs a resource (/dev/ttyUSB0 or TCPIP::...)"
        )
    options = config.options
    board_channels = int(options.get("board_channels", 4))
    if not 1 <= config.channels <= board_channels:
        raise ValueError(f"{config.name}: channels must be 1..{board_channels} for a CAEN board")
    link = LineLink(
        config.resource,
        timeout=float(options.get("timeout", 1.0)),
        write_terminator="\r\n",
        read_terminator="\n",
        settings=serial_settings(options, SERIAL_DEFAULTS),
    )
    driver = CaenN1470(link, int(options.get("board", 0)), config.channels, board_channels)
    try:
        assert config.vmax is not None  # DeviceConfig fills the HV defaults
        driver.configure(
            config.vmax, float(options.get("trip_time", 1.0)), str(options.get("power_down", "ramp"))
        )
        return CaenSupply(config, clock, driver)
    except BaseException:
        link.close()
        raise
