"""MQTT messages to SQLite rows, one row per point: ``(measurement, tags, time, fields)``,
and the rows to the frames the SQLite backend stores (one per measurement and time).

``fields`` is the point's fields as one JSON object with the JSON types the device
published: ``true``/``false``, integers, floats, strings. Reading maps them to what the
archive stores (numbers as floats, booleans as integers: see ``VALUE`` in
:mod:`trackerdcs.archive.sqlite`), so writing needs no per-value work in Python: the
fast path parses a status with orjson, takes out ``ts``, ``seq`` and ``number``, and
writes the rest of each channel back with one ``orjson.dumps``. Anything unusual
(nested objects, lists, nulls, NaN, infinity, availability, events) takes the general
path through :func:`trackerdcs.archive.points.decode`; a property test holds the two
together. Runs in the archiver's worker processes: results are plain tuples, cheap to
pickle.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import orjson

from trackerdcs.archive.backend import Report
from trackerdcs.archive.lineproto import Field
from trackerdcs.archive.points import LATEST, Message, Point, decode, to_ns

Row = tuple[str, str, int, str]  # measurement, tags ("number=3" or ""), time in ns, fields JSON

INT64 = range(-(2**63), 2**63)  # what a JSON integer in SQLite holds; larger ones are stored as floats


def point_rows(points: Iterable[Point]) -> list[Row]:
    """The general path: points as rows."""
    return [(p.measurement, tag_text(p.tags), p.time_ns, fields_json(p.fields)) for p in points]


def tag_text(tags: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(tags.items()))


def fields_json(fields: dict[str, Field]) -> str:
    if all(_plain(v) for v in fields.values()):
        return orjson.dumps(fields).decode()
    return "{" + ",".join(f"{orjson.dumps(k).decode()}:{_value_json(v)}" for k, v in fields.items()) + "}"


def _plain(value: Field) -> bool:
    return math.isfinite(value) if type(value) is float else type(value) is not int or value in INT64


def _value_json(value: Field) -> str:
    """NaN as null (as the first schema stored it), infinity as 9e999 (which SQLite reads as inf)."""
    if type(value) is int and value not in INT64:
        value = float(value)
    if type(value) is float and not math.isfinite(value):
        return "null" if math.isnan(value) else "9e999" if value > 0 else "-9e999"
    return orjson.dumps(value).decode()


Frame = dict[str, str]  # the points of one measurement and time: tags -> fields JSON


def to_frames(rows: Iterable[Row]) -> dict[tuple[str, int], Frame]:
    """Rows grouped by measurement and time, in order; a point given twice, the last wins."""
    frames: dict[tuple[str, int], Frame] = {}
    for measurement, tags, time, fields in rows:
        frames.setdefault((measurement, time), {})[tags] = fields
    return frames


def frame_json(points: Frame) -> str:
    """One frame's points as the JSON object SQLite keeps: ``{"number=0": {...}, ...}``."""
    return "{" + ",".join(f"{_key(tags)}:{fields}" for tags, fields in points.items()) + "}"


def _key(tags: str) -> str:
    key = _KEYS.get(tags)
    if key is None:
        if len(_KEYS) > 4096:
            _KEYS.clear()
        key = _KEYS[tags] = orjson.dumps(tags).decode()
    return key


_KEYS: dict[str, str] = {}


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
    first = entries[0] if entries else None
    seq = first.get("seq") if isinstance(first, dict) else None
    report.seqs.append((device, seq if type(seq) is int else None))
    default_ns = to_ns(message.arrival)
    for entry in entries:
        if isinstance(entry, dict):
            _entry(device, message, entry, default_ns, rows, report)


_MISSING: Any = object()


def _entry(
    device: str, message: Message, entry: dict[str, Any], default_ns: int, rows: list[Row], report: Report
) -> None:
    ts, number = entry.pop("ts", _MISSING), entry.pop("number", _MISSING)
    seq, reserved = entry.pop("seq", _MISSING), entry.pop("time", _MISSING)
    text = orjson.dumps(entry)
    # a nested object, a list, a null or an overflowed float (1e999 -> inf -> null) is
    # for the general path (a string holding one of these only sends its entry there too)
    if b"[" in text or text.find(b"{", 1) > 0 or b"null" in text:
        meta = {"ts": ts, "number": number, "seq": seq, "time": reserved}
        entry.update({k: v for k, v in meta.items() if v is not _MISSING})
        _general(Message(message.topic, orjson.dumps([entry]), message.arrival), rows, report, False)
        return
    if len(text) == 2:  # no fields: no point
        return
    tags = ""
    if type(number) is int or (type(number) is str and number):  # not a bool, not ""
        tags = _TAGS.get(number) or _tag(number)
    ok = type(ts) in (float, int) and ts - ts == 0 and 0 <= ts < LATEST
    rows.append((device, tags, round(ts * 1e6) * 1000 if ok else default_ns, text.decode()))


_TAGS: dict[int | str, str] = {}


def _tag(number: int | str) -> str:
    if len(_TAGS) > 4096:
        _TAGS.clear()
    tag = _TAGS[number] = f"number={number}"
    return tag
