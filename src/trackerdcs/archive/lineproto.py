"""InfluxDB line protocol, written by hand for speed.

The archiver turns each MQTT payload into line protocol in one pass. The official
client's ``Point`` object costs several microseconds per field, which alone would eat
the ingest budget of 100,000 points/s on two cores.

Escaping follows what InfluxDB's parser really does (checked against a live 1.x
server by the property tests): commas and spaces in measurements, and also equals
signs in tag and field keys and tag values, take a backslash; in string values,
double quotes and backslashes do. A backslash in a *name* is taken literally and
cannot itself be escaped, so a name that ends in one, or has one before a comma,
space, equals sign or double quote (InfluxDB 1.x unescapes a ``\\"`` in keys to a
bare quote), or holds a control character (a line break cannot be written,
a NUL cannot be queried), cannot be stored exactly: such a field is left out (and
logged once), never written wrongly.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

log = logging.getLogger(__name__)

Field = float | int | bool | str

_MEASUREMENT = str.maketrans({",": "\\,", " ": "\\ "})
_KEY = str.maketrans({",": "\\,", " ": "\\ ", "=": "\\="})
_STRING = str.maketrans({"\\": "\\\\", '"': '\\"'})
_UNWRITABLE = re.compile(r"\\$|\\[ ,=\"]|[\x00-\x1f\x7f]")


def representable(name: str) -> bool:
    """Whether InfluxDB can store this name exactly as it is."""
    return bool(name) and not _UNWRITABLE.search(name)


@lru_cache(maxsize=8192)  # names repeat with every sample: escape each once
def measurement(name: str) -> str | None:
    if not representable(name) or name.startswith("#"):  # a leading '#' makes a comment line
        _unwritable("measurement", name)
        return None
    return name.translate(_MEASUREMENT)


@lru_cache(maxsize=8192)
def key(name: str) -> str | None:
    if not representable(name):
        _unwritable("name", name)
        return None
    return name.translate(_KEY)


def _unwritable(what: str, name: str) -> None:
    log.warning("InfluxDB cannot store the %s %r exactly: left out", what, name)


def field_value(value: Field) -> str | None:
    """The value's text, or None for a value line protocol cannot hold (NaN, inf)."""
    if value is True or value is False:
        return "1i" if value else "0i"  # booleans are stored as integers
    if isinstance(value, str):
        return '"' + value.translate(_STRING) + '"'
    if isinstance(value, int):
        return str(value)  # without an "i", line protocol takes it as a float, as Telegraf stored it
    return repr(value) if math.isfinite(value) else None  # JSON numbers are floats, as in Telegraf


def line(meas: str, tags: Mapping[str, str], fields: Mapping[str, Field], time_ns: int) -> str | None:
    """One point; None if it cannot be written or no field survives."""
    head = measurement(meas)
    if head is None:
        return None
    for name, value in sorted(tags.items()):
        k, v = key(name), key(value)
        if k is None or v is None:
            return None
        head += f",{k}={v}"
    parts = [
        f"{k}={text}"
        for name, value in fields.items()
        if (k := key(name)) is not None and (text := field_value(value)) is not None
    ]
    return f"{head} {','.join(parts)} {time_ns}" if parts else None


def encode(lines: Iterable[str]) -> bytes:
    return "\n".join(lines).encode()
