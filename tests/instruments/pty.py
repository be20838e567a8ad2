"""Serve an instrument emulator on a pseudo-terminal, the way a USB-serial instrument talks.

The emulator thread owns the master end; the driver opens the slave end by path, with
pyserial, exactly as it opens ``/dev/ttyUSB0``. The path is a stable symlink (like
``/dev/serial/by-id/...``), so after a simulated unplug (:meth:`PtyInstrument.disconnect`)
and replug (:meth:`PtyInstrument.reconnect`) the driver reopens the same path.

An emulator is a :class:`~tests.instruments.tcp.LineHandler`; one that also has
``stream() -> list[str]`` (a sensor that prints by itself) is asked for lines every
``stream_period`` seconds. Faults: silent, garbage answers, partial lines, unplugged.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
import tty
from enum import StrEnum
from pathlib import Path

from tests.instruments.tcp import LineHandler

GARBAGE = "\x15#?!\xffgarbage"


class SerialFault(StrEnum):
    NONE = "none"
    SILENT = "silent"  # reads commands, answers (and prints) nothing
    GARBAGE = "garbage"  # every line out is junk
    PARTIAL = "partial"  # every line out is cut short, without its terminator


class PtyInstrument:
    """An emulator on a pty pair; use as a context manager."""

    def __init__(
        self,
        handler: LineHandler,
        directory: Path,
        terminator: str = "\r\n",
        stream_period: float = 0.05,
    ) -> None:
        self.handler = handler
        self.terminator = terminator
        self.stream_period = stream_period
        self.path = directory / "ttyEMU0"
        self.fault = SerialFault.NONE
        self.lines: list[str] = []  # every command received
        self._lock = threading.Lock()
        self._fds: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="pty-instrument", daemon=True)

    @property
    def resource(self) -> str:
        return str(self.path)

    @property
    def connected(self) -> bool:
        return self._fds is not None

    def __enter__(self) -> PtyInstrument:
        self.reconnect()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.disconnect()

    # -- plugging ---------------------------------------------------------------------
    def reconnect(self) -> None:
        """Plug the instrument (back) in: a new pty pair behind the same path."""
        with self._lock:
            if self._fds is not None:
                return
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo, no CR/LF translation, as on a real serial line
            os.set_blocking(master, False)
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self.path.symlink_to(os.ttyname(slave))
            self._fds = (master, slave)

    def disconnect(self) -> None:
        """Unplug the instrument: the driver's next read or write fails."""
        with self._lock:
            fds, self._fds = self._fds, None
            if fds is not None:
                for fd in fds:
                    os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def send_raw(self, data: bytes) -> None:
        """Write bytes to the driver as they are (a partial line, junk)."""
        with self._lock:
            if self._fds is not None:
                os.write(self._fds[0], data)

    # -- the emulator thread ------------------------------------------------------------
    def _serve(self) -> None:
        buffer = b""
        next_stream = time.monotonic()
        while not self._stop.is_set():
            master = self._fds[0] if self._fds else None
            if master is None:
                buffer = b""
                self._stop.wait(0.01)
                continue
            with contextlib.suppress(OSError, ValueError):
                ready, _, _ = select.select([master], [], [], 0.01)
                if ready:
                    buffer = self._answer(buffer + os.read(master, 4096))
            if time.monotonic() >= next_stream:
                next_stream = time.monotonic() + self.stream_period
                self._stream()

    def _answer(self, buffer: bytes) -> bytes:
        *complete, rest = buffer.replace(b"\r", b"\n").split(b"\n")
        for raw in complete:
            line = raw.decode("ascii", errors="replace").strip()
            if line:
                self.lines.append(line)
                self._emit(self.handler.handle(line))
        return rest

    def _stream(self) -> None:
        stream = getattr(self.handler, "stream", None)
        if stream is not None:
            for line in stream():
                self._emit(line)

    def _emit(self, line: str | None) -> None:
        if line is None or self.fault is SerialFault.SILENT:
            return
        if self.fault is SerialFault.GARBAGE:
            line = GARBAGE
        data = (line + self.terminator).encode("latin-1")
        if self.fault is SerialFault.PARTIAL:
            data = data[: max(1, len(line) // 2)]
        with contextlib.suppress(OSError):  # nobody reading: the pty buffer is full
            self.send_raw(data)
