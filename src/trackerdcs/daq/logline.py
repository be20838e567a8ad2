"""Ph2_ACF's log lines, as a real PS-module run prints them (see docs/decisions/0024).

``29.05.2025 15:59:54: |140489373334720|I| Run 500749 started``: local time, thread id, level
letter (I, W, E, D), text, with ANSI colour codes around the text. Parsing is pure and total:
any other line (a ROOT warning, ``Total execution time``) is kept as plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
LINE_RE = re.compile(r"^(\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}): \|(\d+)\|([IWED])\|\s?(.*)$")
LOCAL_FORMAT = "%d.%m.%Y %H:%M:%S"


class Kind(StrEnum):
    """What a line says about the run's progress."""

    CONFIGURED = "configured"
    RUN_STARTED = "run_started"
    STEP_STARTED = "step_started"
    STEP_DONE = "step_done"
    RESULT_FILE = "result_file"
    RUN_STOPPED = "run_stopped"
    MONITOR_FILE = "monitor_file"
    HALTED = "halted"
    OTHER = "other"


_EVENTS: list[tuple[Kind, re.Pattern[str]]] = [
    (Kind.CONFIGURED, re.compile(r"^Configured\s*$")),
    (Kind.RUN_STARTED, re.compile(r"^Run (\d+) started\s*$")),
    (Kind.STEP_STARTED, re.compile(r"^Starting (\S+) measurement\.?\s*$")),
    (Kind.STEP_DONE, re.compile(r"^Done with (\S+?)\.?\s*$")),
    (Kind.RESULT_FILE, re.compile(r"^Closing result file: (\S+)\s*$")),
    (Kind.RUN_STOPPED, re.compile(r"^Run (\d+) stopped\s*$")),
    (Kind.MONITOR_FILE, re.compile(r"^Closing monitor result file: (\S+)\s*$")),
    (Kind.HALTED, re.compile(r"^Halted\s*$")),
]


@dataclass(frozen=True)
class LogLine:
    text: str  # without colours
    local_time: str | None = None  # DD.MM.YYYY HH:MM:SS, Ph2_ACF's local time
    thread: str | None = None
    level: str | None = None  # I, W, E or D; None for lines not in Ph2_ACF's format
    kind: Kind = Kind.OTHER
    value: str | None = None  # the run number, step name or file path the line names


def strip_ansi(text: str) -> str:
    return ANSI_RE.sub("", text)


def parse_line(raw: str) -> LogLine:
    """Parse one line of output; never raises."""
    text = strip_ansi(raw).rstrip("\r\n")
    match = LINE_RE.match(text)
    if match is None:
        return LogLine(text)
    local_time, thread, level, body = match.groups()
    body = body.strip()
    for kind, pattern in _EVENTS:
        event = pattern.match(body)
        if event is not None:
            value = event.group(1) if event.groups() else None
            return LogLine(body, local_time, thread, level, kind, value)
    return LogLine(body, local_time, thread, level)
