"""Turn a spool segment into what a backend writes: the CPU-heavy half of storing.

It runs in a worker process, so that parsing and encoding (about 6 us per point) use
the second core while the archiver's own process receives and spools messages. The
functions here are module-level and their results picklable for that reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trackerdcs.archive.backend import Report
from trackerdcs.archive.encode import encode_messages
from trackerdcs.archive.points import Message
from trackerdcs.archive.rows import Row, message_rows
from trackerdcs.archive.spool import read_segment

LINES = "lines"  # InfluxDB: one line-protocol body
ROWS = "rows"  # SQLite: one row per point, its fields as JSON


@dataclass
class Prepared:
    report: Report
    body: bytes = b""
    rows: list[Row] = field(default_factory=list)
    messages: int = 0


def prepare_messages(messages: list[Message], form: str) -> Prepared:
    if form == LINES:
        encoded = encode_messages(messages)
        report = Report(len(encoded.lines), encoded.seqs, encoded.errors)
        return Prepared(report, body=encoded.body, messages=len(messages))
    rows, report = message_rows(messages)
    return Prepared(report, rows=rows, messages=len(messages))


def prepare_segment(path: str, form: str) -> Prepared:
    return prepare_messages(read_segment(Path(path)), form)
