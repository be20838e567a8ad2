"""Serve an instrument emulator on a loopback TCP socket, the way a LAN instrument talks.

pyvisa-py's real ``TCPIP::host::port::SOCKET`` path connects to it, so a driver test runs
the driver, pyvisa and the socket exactly as with hardware. An emulator is any object
with ``handle(line) -> reply | None``; the server adds the faults a real instrument
shows: it stops answering, answers garbage, or drops the connection.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from enum import StrEnum
from typing import Protocol


class LineHandler(Protocol):
    def handle(self, line: str) -> str | None:
        """Answer one command line (without its terminator); None means no answer."""


class Fault(StrEnum):
    NONE = "none"
    SILENT = "silent"  # reads commands, answers nothing
    GARBAGE = "garbage"  # answers every query with junk
    DROP = "drop"  # closes every connection at once


class TcpInstrument:
    """A threaded TCP server around one emulator; use as a context manager."""

    def __init__(self, handler: LineHandler, terminator: str = "\n", encoding: str = "ascii") -> None:
        self.handler = handler
        self.terminator = terminator
        self.encoding = encoding
        self.fault = Fault.NONE
        self.lock = threading.Lock()  # one command at a time, like the instrument
        self.lines: list[str] = []  # every command received, for assertions
        self._server = _Server(("127.0.0.1", 0), _Session)
        self._server.instrument = self
        self._thread = threading.Thread(target=self._serve, name="tcp-instrument", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def resource(self) -> str:
        return f"TCPIP::127.0.0.1::{self.port}::SOCKET"

    def __enter__(self) -> TcpInstrument:
        self._thread.start()
        return self

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.02)  # shutdown() waits up to one interval

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def dropping(self) -> bool:
        return self.fault is Fault.DROP

    def answer(self, line: str) -> str | None:
        with self.lock:
            self.lines.append(line)
            reply = self.handler.handle(line)
        if reply is None or self.fault is Fault.SILENT:
            return None
        if self.fault is Fault.GARBAGE:
            return "\x15#?!garbage"
        return reply


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    instrument: TcpInstrument


class _Session(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        instrument = self.server.instrument
        terminator = instrument.terminator.encode(instrument.encoding)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        while not instrument.dropping():
            chunk = self.connection.recv(4096)
            if not chunk:
                return
            buffer += chunk
            while terminator in buffer and not instrument.dropping():
                raw, buffer = buffer.split(terminator, 1)
                line = raw.decode(instrument.encoding, errors="replace").strip()
                reply = instrument.answer(line) if line else None
                if reply is not None:
                    self.connection.sendall(reply.encode(instrument.encoding) + terminator)
