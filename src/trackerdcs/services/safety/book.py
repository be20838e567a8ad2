"""The alarm book on disk: what a restart of the safety service inherits.

As the Phoebus alarm server reads its state back from a compacted Kafka topic, the
safety service writes its alarm book to ``alarms.json`` in the stand's data directory
after every change and reads it back on start. The file is replaced atomically
(a temporary file, fsync, rename, fsync of the folder), so a crash leaves either the
old book or the new one, never half of one.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from trackerdcs.safety.alarms import AlarmEvent
from trackerdcs.safety.state import BOOK_ALARM, SafetyState

log = logging.getLogger(__name__)

FORMAT = "trackerdcs-alarm-book"
VERSION = 1


class BookUnreadable(Exception):
    """The saved book exists but cannot be used; the message says why."""


class BookFile:
    """One stand's saved alarm book."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._saved: str | None = None
        self._failing = False

    def load(self) -> list[dict[str, Any]] | None:
        """The saved alarms, or None when there is no book yet.

        Raises :class:`BookUnreadable` for a file that cannot be read or is not a book;
        the file is then moved aside (``alarms.json.unreadable``) for someone to look at.
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise self._unreadable(f"cannot read it: {exc}") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise self._unreadable(f"not JSON: {exc}") from None
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT
            or not isinstance(data.get("alarms"), list)
        ):
            raise self._unreadable(f"not an alarm book (expected format {FORMAT!r} with a list 'alarms')")
        if data.get("version") != VERSION:
            raise self._unreadable(f"version {data.get('version')!r}, this service reads {VERSION}")
        self._saved = text
        return list(data["alarms"])

    def unusable(self, problem: str) -> BookUnreadable:
        """The file read, but its alarms did not: move it aside, as for an unreadable one."""
        return self._unreadable(problem)

    def save(self, alarms: list[dict[str, Any]]) -> None:
        """Replace the book, unless nothing changed; a failure is logged, never raised."""
        text = json.dumps({"format": FORMAT, "version": VERSION, "alarms": alarms}, indent=1)
        if text == self._saved:
            return
        try:
            self._replace(text)
        except OSError as exc:
            if not self._failing:
                log.error("safety: cannot save the alarm book %s: %s (alarms kept in memory)", self.path, exc)
            self._failing = True
            return
        if self._failing:
            log.info("safety: alarm book %s saved again", self.path)
        self._saved, self._failing = text, False

    def _replace(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with temporary.open("w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def _unreadable(self, problem: str) -> BookUnreadable:
        aside = self.path.with_name(f"{self.path.name}.unreadable")
        try:
            os.replace(self.path, aside)
            where = f"moved to {aside}"
        except OSError as exc:
            where = f"left in place ({exc.strerror})"
        self._saved = None
        return BookUnreadable(f"{self.path}: {problem}; {where}")


def restore(book: BookFile, state: SafetyState, now: float) -> list[AlarmEvent]:
    """Read back the alarms of before the restart into ``state``; an unusable book holds HV off."""
    try:
        records = book.load()
        if records is None:
            log.info("safety: no saved alarms in %s", book.path)
            return []
        try:
            alarms = state.restore(records)
        except ValueError as exc:
            raise book.unusable(str(exc)) from None
    except BookUnreadable as exc:
        log.error(
            "safety: alarm book unreadable: %s; HV stays off on every module until `dcs ack %s`",
            exc,
            BOOK_ALARM,
        )
        return state.book_unreadable(str(exc), now)
    for alarm in alarms:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(alarm.raised_at))
        how = ("active" if alarm.active else "cleared") + ("" if alarm.acknowledged else ", unacknowledged")
        log.warning(
            "safety: alarm %s from before the restart (raised %s, %s): %s", alarm.id, when, how, alarm.message
        )
    return []
