"""Turn a spool segment into what a backend writes: the CPU-heavy half of storing.

It runs in a worker process, so that parsing and encoding (about 6 us per point) use
the second core while the archiver's own process receives and spools messages. The
functions here are module-level and their results picklable for that reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from trackerdcs.archive.backend import Report, decode_messages
from trackerdcs.archive.encode import encode_messages
from trackerdcs.archive.points import Message, Point
from trackerdcs.archive.spool import read_segment

Row = tuple[str, str, str, int, float | int | str]
LINES = "lines"  # InfluxDB: one line-protocol body
ROWS = "rows"  # SQLite: one row per field value


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
    points, report = decode_messages(messages)
    return Prepared(report, rows=sqlite_rows(points), messages=len(messages))


def prepare_segment(path: str, form: str) -> Prepared:
    return prepare_messages(read_segment(Path(path)), form)


def sqlite_rows(points: Iterable[Point]) -> list[Row]:
    return [
        (p.measurement, name, tag_text(p.tags), p.time_ns, _value(value))
        for p in points
        for name, value in p.fields.items()
    ]


def tag_text(tags: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(tags.items()))


def _value(value: float | int | bool | str) -> float | int | str:
    if isinstance(value, bool):
        return int(value)
    return value if isinstance(value, str) else float(value)
