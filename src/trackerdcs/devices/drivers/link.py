"""A line-oriented link to an ASCII instrument, over a serial port or a TCP socket.

Exceptions, all :class:`OSError` so that a caller may catch one family:

- :class:`DriverError`: the link failed (port gone, socket dropped) or the instrument
  answered something the driver cannot use;
- :class:`InstrumentTimeout` (also a :class:`TimeoutError`): no complete answer within
  the link's timeout.

After a link failure the port is closed and the next call opens it again, so a driver
recovers by itself once the instrument is back; :meth:`LineLink.reconnect` forces it.
One re-entrant lock per link serialises every exchange with the instrument.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import serial

log = logging.getLogger(__name__)

_TCPIP_SOCKET = re.compile(r"TCPIP\d*::(?P<host>[^:]+)::(?P<port>\d+)::SOCKET", re.IGNORECASE)
SERIAL_OPTIONS = ("baudrate", "bytesize", "parity", "stopbits", "xonxoff", "rtscts", "dsrdtr")


class DriverError(OSError):
    """The instrument link failed, or the instrument's answer makes no sense."""


class InstrumentTimeout(DriverError, TimeoutError):
    """The instrument gave no complete answer in time."""


class Port(Protocol):
    """The part of a pyserial port the link uses."""

    @property
    def in_waiting(self) -> int: ...

    def read(self, size: int = 1) -> bytes: ...

    def read_until(self, expected: bytes = b"\n", size: int | None = None) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...

    def reset_input_buffer(self) -> None: ...

    def close(self) -> None: ...


Opener = Callable[..., Port]


def port_url(resource: str) -> str:
    """Get the pyserial URL of a resource: ``TCPIP::h::p::SOCKET`` becomes ``socket://h:p``."""
    match = _TCPIP_SOCKET.fullmatch(resource.strip())
    if match:
        return f"socket://{match['host']}:{match['port']}"
    return resource.strip()


def serial_settings(options: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """Pick the serial-line settings (baudrate, parity, ...) from a device's options."""
    settings = dict(defaults)
    settings.update({key: options[key] for key in SERIAL_OPTIONS if key in options})
    return settings


class LineLink:
    """Send command lines and read answer lines, reopening the port after a failure."""

    def __init__(
        self,
        resource: str,
        *,
        timeout: float = 1.0,
        write_terminator: str = "\r\n",
        read_terminator: str = "\n",
        settings: dict[str, Any] | None = None,
        command_gap: float = 0.0,
        opener: Opener = serial.serial_for_url,
    ) -> None:
        self.url = port_url(resource)
        self.timeout = timeout
        self.write_terminator = write_terminator.encode()
        self.read_terminator = read_terminator.encode()
        self.settings = settings or {}
        self.command_gap = command_gap  # some instruments need a pause between commands
        self.lock = threading.RLock()
        self._opener = opener
        self._port: Port | None = None
        self._last_write = float("-inf")
        self.opened = 0  # how many times the port was opened, for logs and tests

    # -- connection -------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._port is not None

    def port(self) -> Port:
        """Get the open port, opening it if needed."""
        with self.lock:
            if self._port is None:
                self._port = self._open()
                self.opened += 1
                log.info("opened %s", self.url)
            return self._port

    def _open(self) -> Port:
        """Open the port and drop what waited in its buffer (an old line is no answer)."""
        port: Port | None = None
        try:
            port = self._opener(self.url, timeout=self.timeout, write_timeout=self.timeout, **self.settings)
            port.reset_input_buffer()
            return port
        except Exception as exc:  # OSError, ValueError, termios.error (not an OSError), ...
            if port is not None:
                with contextlib.suppress(Exception):
                    port.close()
            raise DriverError(f"cannot open {self.url}: {exc}") from exc

    def close(self) -> None:
        with self.lock:
            port, self._port = self._port, None
            if port is not None:
                try:
                    port.close()
                except OSError:
                    log.debug("closing %s failed", self.url, exc_info=True)

    def reconnect(self) -> None:
        """Close and open the port again (an instrument that was unplugged or rebooted)."""
        with self.lock:
            self.close()
            self.port()

    @contextmanager
    def exchange(self) -> Iterator[Port]:
        """Hold the lock and the port; a link failure closes the port and raises DriverError."""
        with self.lock:
            port = self.port()
            try:
                yield port
            except DriverError:
                raise
            except (OSError, serial.SerialException) as exc:
                self.close()
                raise DriverError(f"{self.url}: {exc}") from exc

    # -- lines ---------------------------------------------------------------------------
    def write_line(self, line: str) -> None:
        with self.exchange() as port:
            self._pause()
            port.write(line.encode("ascii") + self.write_terminator)
            self._last_write = time.monotonic()

    def read_line(self) -> str:
        """Read one answer line; raise InstrumentTimeout for none or a partial one."""
        with self.exchange() as port:
            raw = port.read_until(self.read_terminator)
        if not raw.endswith(self.read_terminator):
            raise InstrumentTimeout(f"{self.url}: no answer within {self.timeout:g} s (got {raw[:40]!r})")
        return raw.decode("ascii", errors="replace").strip()

    def query(self, line: str) -> str:
        """Send a command and return its answer line, dropping anything left over before."""
        with self.exchange() as port:
            port.reset_input_buffer()
            self.write_line(line)
            return self.read_line()

    def read_available(self) -> bytes:
        """Read what has arrived, waiting at most the timeout for the first byte."""
        with self.exchange() as port:
            data = port.read(max(1, port.in_waiting))
            while data and port.in_waiting:
                data += port.read(port.in_waiting)
            return data

    def _pause(self) -> None:
        wait = self._last_write + self.command_gap - time.monotonic()
        if wait > 0:
            time.sleep(wait)
