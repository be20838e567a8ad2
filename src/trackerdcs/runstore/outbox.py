"""Writes a store could not take (MongoDB down), kept on disk and retried in order.

Every write goes to the outbox first (one fsynced file per write, numbered), then to the
store; a file is deleted only once the store has taken it. A write that fails stays, and
so do all after it: they are retried in their order, so a run's final record can never be
overtaken by its first. A record is never lost, not even if the service is killed.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from trackerdcs.runstore.base import Record, RunQuery, RunStore, StoreUnavailable, from_json, to_json

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, store: RunStore, directory: Path) -> None:
        self.store = store
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()  # numbering new files
        self._flush_lock = threading.Lock()  # one delivery at a time; writes need not wait for it
        files = self._files()
        self._next = int(files[-1].stem) + 1 if files else 0
        self.last_error: str | None = None

    def _files(self) -> list[Path]:
        return sorted(p for p in self.directory.glob("*.json") if p.stem.isdigit())

    def put(self, record: Record) -> bool:
        """Keep ``record``, then try to deliver everything kept; True if the store has it all."""
        self.keep(record)
        return self.flush() == 0

    def keep(self, record: Record) -> None:
        """Put ``record`` on disk, fsynced, behind every write still waiting (fast: no database)."""
        with self._write_lock:
            path = self.directory / f"{self._next:012d}.json"
            self._next += 1
            tmp = path.with_suffix(".tmp")
            with tmp.open("w") as out:
                out.write(to_json(record))
                out.flush()
                os.fsync(out.fileno())
            tmp.replace(path)
            directory = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(directory)  # the rename itself survives a power cut
            finally:
                os.close(directory)

    def flush(self) -> int:
        """Deliver what is kept, oldest first; return how many writes are still waiting."""
        with self._flush_lock:
            files = self._files()
            for index, path in enumerate(files):
                try:
                    self.store.put(from_json(path.read_text()))
                except StoreUnavailable as exc:
                    if self.last_error is None:
                        log.warning(
                            "run store unavailable, %d write(s) kept on disk: %s", len(files) - index, exc
                        )
                    self.last_error = str(exc)
                    return len(files) - index
                path.unlink()
            if self.last_error is not None:
                log.info("run store back: every kept write delivered")
            self.last_error = None
            return 0

    def pending(self) -> int:
        return len(self._files())

    def get(self, key: str) -> Record | None:
        return self.store.get(key)

    def find(self, query: RunQuery) -> list[Record]:
        return self.store.find(query)

    def close(self) -> None:
        self.store.close()
