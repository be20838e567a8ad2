"""MQTT messages to SQLite rows, one row per point: ``(measurement, tags, time, fields)``.

``fields`` is the point's fields as one JSON object, with the values as the archive
stores them (numbers as floats, booleans as integers, text as strings). The fast path
parses a status with orjson and writes each channel's fields with one ``orjson.dumps``;
anything unusual (nested objects, NaN, infinity, availability, events) takes the
general path through :func:`trackerdcs.archive.points.decode`, and a property test
holds the two together. Runs in the archiver's worker processes: results are plain
tuples, cheap to pickle.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from trackerdcs.archive.backend import Report
from trackerdcs.archive.lineproto import Field
from trackerdcs.archive.points import LATEST, META_KEYS, RESERVED, Message, Point, decode, to_ns

Row = tuple[str, str, int, str]  # measurement, tags ("number=3" or ""), time in ns, fields JSON

_SKIP = META_KEYS | RESERVED


def point_rows(points: Iterable[Point]) -> list[Row]:
    """The general path: points as rows."""
    return [(p.measurement, tag_text(p.tags), p.time_ns, fields_json(p.fields)) for p in points]


def tag_text(tags: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(tags.items()))


def fields_json(fields: dict[str, Field]) -> str:
    values = {name: _value(value) for name, value in fields.items()}
    if any(type(v) is float and not math.isfinite(v) for v in values.values()):
        return _non_finite_json(values)
    return orjson.dumps(values).decode()


def _value(value: Field) -> float | int | str:
    if isinstance(value, bool):
        return int(value)
    return value if isinstance(value, str) else float(value)


def _non_finite_json(values: dict[str, float | int | str]) -> str:
    """NaN as null (as the first schema stored it), infinity as 9e999 (which SQLite reads as inf)."""

    def text(v: float | int | str) -> bytes:
        if type(v) is float and not math.isfinite(v):
            return b"null" if math.isnan(v) else b"9e999" if v > 0 else b"-9e999"
        return orjson.dumps(v)

    return "{" + ",".join(f"{orjson.dumps(k).decode()}:{text(v).decode()}" for k, v in values.items()) + "}"


def message_rows(messages: Iterable[Message]) -> tuple[list[Row], Report]:
    rows: list[Row] = []
    report = Report()
    for message in messages:
        parts = message.topic.split("/")
        if len(parts) == 3 and parts[0] == "" and parts[2] == "status" and parts[1]:
            _status(parts[1], message, rows, report)
        else:
            _general(message, rows, report)
    report.points = len(rows)
    return rows, report


def _general(message: Message, rows: list[Row], report: Report, count_seq: bool = True) -> None:
    decoded = decode(message)
    if decoded.error:
        report.errors.append(decoded.error)
    rows.extend(point_rows(decoded.points))
    if count_seq and decoded.device is not None and message.topic.endswith("/status"):
        report.seqs.append((decoded.device, decoded.seq))


def _status(device: str, message: Message, rows: list[Row], report: Report) -> None:
    try:
        body = orjson.loads(message.payload)
    except orjson.JSONDecodeError:  # not strict JSON (NaN, Infinity): the general path
        _general(message, rows, report)
        return
    entries = body if isinstance(body, list) else [body]
    default_ns = to_ns(message.arrival)
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        row = _row(device, entry, default_ns)
        if row is _SLOW:
            _general(Message(message.topic, orjson.dumps([entry]), message.arrival), rows, report, False)
        elif row is not None:
            rows.append(row)
    first = entries[0] if entries else None
    seq = first.get("seq") if isinstance(first, dict) else None
    report.seqs.append((device, seq if type(seq) is int else None))


_SLOW: Row = ("", "", 0, "")  # this entry needs the general path


def _row(device: str, entry: dict[str, Any], default_ns: int) -> Row | None:
    signature = (tuple(entry), tuple(map(type, entry.values())))
    template = _TEMPLATES.get(signature) or _template(*signature)
    if template is None:
        return _SLOW
    if template.format is None:
        return None
    values = template.values(entry)
    if template.fix:
        fixed = list(values)
        for i in template.fix:
            fixed[i] = orjson.dumps(fixed[i]).decode()
        values = tuple(fixed)
    fields = template.format % values
    # %r writes NaN and infinity as nan and inf, which are not JSON (a string holding
    # "nan" only sends its entry the slow way, still right)
    if template.floats and ("nan" in fields or "inf" in fields):
        return _SLOW
    number = entry.get("number")
    tags = ""
    if type(number) is int or (type(number) is str and number):  # not a bool, not ""
        tags = _TAGS.get(number) or _tag(number)
    ts: Any = entry.get("ts")
    ok = type(ts) in (float, int) and ts - ts == 0 and 0 <= ts < LATEST
    return device, tags, round(ts * 1e6) * 1000 if ok else default_ns, fields


class _Template:
    """How to write the fields of entries with one set of keys and value types: one %-format."""

    __slots__ = ("fix", "floats", "format", "values")

    def __init__(self, names: list[str], parts: list[str], fix: list[int], floats: bool) -> None:
        self.values = _getter(names)
        self.format = "{" + ",".join(parts) + "}" if parts else None
        self.fix = tuple(fix)  # positions of strings, to be JSON-quoted
        self.floats = floats


_TEMPLATES: dict[tuple[tuple[str, ...], tuple[type, ...]], _Template | None] = {}
# the stored types: numbers as floats (an integer gets ".0"), booleans as integers
_FORMATS = {float: "%r", int: "%d.0", bool: "%d", str: "%s"}


def _template(keys: tuple[str, ...], types: tuple[type, ...]) -> _Template | None:
    """None when an entry of this shape holds a nested object (the general path flattens it)."""
    if len(_TEMPLATES) > 4096:
        _TEMPLATES.clear()
    pairs = [(k, t) for k, t in zip(keys, types, strict=True) if k not in _SKIP]
    template = None
    if not any(t is dict for _, t in pairs):
        kept = [(k, t) for k, t in pairs if t in _FORMATS]
        parts = [orjson.dumps(k).decode().replace("%", "%%") + ":" + _FORMATS[t] for k, t in kept]
        fix = [i for i, (_, t) in enumerate(kept) if t is str]
        template = _Template([k for k, _ in kept], parts, fix, any(t is float for _, t in kept))
    _TEMPLATES[keys, types] = template
    return template


_TAGS: dict[int | str, str] = {}


def _tag(number: int | str) -> str:
    if len(_TAGS) > 4096:
        _TAGS.clear()
    tag = _TAGS[number] = f"number={number}"
    return tag


def _getter(names: list[str]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    if not names:
        return lambda entry: ()
    get = operator.itemgetter(*names)
    return get if len(names) > 1 else lambda entry: (get(entry),)
