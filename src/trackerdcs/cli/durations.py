"""Times on the command line: ``30s``, ``15m``, ``2h``, ``7d`` ago, or an ISO 8601 time."""

from __future__ import annotations

import re
from datetime import datetime

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_AGO = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_time(text: str, now: float) -> float:
    """Seconds since the epoch for a duration ago or an absolute time."""
    match = _AGO.fullmatch(text.strip())
    if match:
        return now - float(match[1]) * UNITS[match[2]]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is neither a duration (30s, 15m, 2h, 7d) nor an ISO time") from None
    return moment.timestamp()  # a time without a zone is local time
