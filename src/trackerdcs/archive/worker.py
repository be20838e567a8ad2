"""Store one spool segment: parse, encode and write it, in a worker process.

The archiver's own process only receives and spools (the MQTT thread must keep up
with the broker); the CPU-heavy part and the write run here, on the other core. The
result sent back is small: counts, sequence numbers and errors, not the data.
"""

from __future__ import annotations

from trackerdcs.archive.backend import Backend
from trackerdcs.archive.open import open_backend
from trackerdcs.archive.prepare import Prepared, prepare_segment
from trackerdcs.archive.url import ArchiveTarget

_BACKENDS: dict[ArchiveTarget, Backend] = {}  # one per target in each worker, kept open


def store_segment(path: str, target: ArchiveTarget) -> Prepared:
    """Write a segment; raise Unavailable or Rejected as the backend does."""
    backend = _BACKENDS.get(target)
    if backend is None:
        backend = _BACKENDS[target] = open_backend(target)
    prepared = prepare_segment(path, backend.form)
    backend.commit(prepared)
    prepared.body, prepared.rows = b"", []  # the data stays here; only the report goes back
    return prepared
