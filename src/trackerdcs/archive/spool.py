"""The on-disk spool: every received message is written here before it is acknowledged.

Messages are appended to segment files; a segment is sealed (fsynced and handed to the
writer) when it reaches a size or an age, so the disk sees one fsync per batch. The
writer stores a sealed segment and only then deletes it, so segments are replayed in
order after a database outage or a crash. The spool is bounded: when it is full,
``append`` waits (the broker keeps the messages that are not yet acknowledged) and
``full`` is raised for the archiver's alarm; nothing is dropped.

Record: arrival (float64), payload length (uint32), topic length (uint16), topic,
payload. A record torn by a crash is cut off when the segment is read back.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

from trackerdcs.archive.points import Message

log = logging.getLogger(__name__)

HEADER = struct.Struct("<dIH")
SUFFIX = ".seg"


class SpoolClosed(Exception):
    """The spool was closed while a message waited for room."""


class Spool:
    """A bounded, append-only, crash-safe queue of messages on disk."""

    def __init__(
        self,
        directory: Path,
        max_bytes: int = 1 << 30,
        segment_bytes: int = 1 << 20,
        segment_age: float = 0.1,
        on_sealed: Callable[[], None] = lambda: None,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.segment_age = segment_age
        self.on_sealed = on_sealed
        self.full = False
        self._room = threading.Condition()
        self._closed = False
        directory.mkdir(parents=True, exist_ok=True)
        self._sealed = sorted(int(p.stem) for p in directory.glob(f"*{SUFFIX}"))
        self.size = sum(self.path(n).stat().st_size for n in self._sealed)
        self._next = (self._sealed[-1] + 1) if self._sealed else 1
        self._active: int | None = None
        self._fd = -1
        self._active_size = 0
        self._opened = 0.0

    # -- the receiving side (the MQTT thread) --------------------------------------------
    def append(self, message: Message) -> None:
        """Write one message; waits while the spool is full."""
        topic = message.topic.encode()
        record = HEADER.pack(message.arrival, len(message.payload), len(topic)) + topic + message.payload
        with self._room:
            self._wait_for_room(len(record))
            if self._active is None:
                self._open()
            os.write(self._fd, record)
            self._active_size += len(record)
            self.size += len(record)
            if self._active_size >= self.segment_bytes:
                self._seal()

    def _wait_for_room(self, needed: int) -> None:
        while self.size + needed > self.max_bytes and not self._closed:
            if not self.full:
                self.full = True
                log.error(
                    "archive spool full (%d bytes in %s): holding back new samples", self.size, self.directory
                )
            self._room.wait(0.5)
        if self._closed:
            raise SpoolClosed("spool closed")
        self.full = False

    def _open(self) -> None:
        self._active, self._next = self._next, self._next + 1
        self._fd = os.open(self.path(self._active), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._active_size, self._opened = 0, time.monotonic()

    def _seal(self) -> None:
        if self._active is None:
            return
        os.fsync(self._fd)
        os.close(self._fd)
        self._sealed.append(self._active)
        self._active, self._fd = None, -1
        self.on_sealed()

    def seal_if_old(self) -> None:
        """Seal the open segment once it is older than ``segment_age`` (called by the writer)."""
        with self._room:
            if self._active is not None and time.monotonic() - self._opened >= self.segment_age:
                self._seal()

    # -- the storing side (the writer) ---------------------------------------------------
    def sealed(self) -> list[int]:
        with self._room:
            return list(self._sealed)

    def read(self, segment: int) -> list[Message]:
        return read_segment(self.path(segment))

    def remove(self, segment: int) -> None:
        """Forget a segment once it is stored."""
        path = self.path(segment)
        with self._room:
            self.size -= path.stat().st_size
            path.unlink()
            self._sealed.remove(segment)
            self._room.notify_all()

    def close(self) -> None:
        with self._room:
            self._closed = True
            self._seal()
            self._room.notify_all()

    def path(self, segment: int) -> Path:
        return self.directory / f"{segment:012d}{SUFFIX}"


def read_segment(path: Path) -> list[Message]:
    """Every whole record of a segment file (a module function: worker processes call it)."""
    data = path.read_bytes()
    messages, offset = [], 0
    while offset + HEADER.size <= len(data):
        arrival, payload_len, topic_len = HEADER.unpack_from(data, offset)
        start = offset + HEADER.size
        end = start + topic_len + payload_len
        if end > len(data):
            log.warning("spool segment %s: torn record at byte %d cut off", path.name, offset)
            break
        topic = data[start : start + topic_len].decode(errors="replace")
        messages.append(Message(topic, data[start + topic_len : end], arrival))
        offset = end
    return messages
