"""Ph2_ACF's known failures, recognised by name in its output (as the Pisa wrapper does).

Each becomes an error class in the run record, with the line that showed it.
"""

from __future__ import annotations

import re
from enum import StrEnum


class ErrorClass(StrEnum):
    BOARD_UNREACHABLE = "board_unreachable"  # ControlHub returned error code 3
    HOST_NOT_FOUND = "host_not_found"  # Host not found (authoritative)
    NO_OBJECT_ENABLED = "no_object_enabled"  # No object enabled in fDetectorContainer
    FIRMWARE_NOT_LOADED = "firmware_not_loaded"  # lpGBT TX Ready ... : FAILED
    UNKNOWN_CALIBRATION = "unknown_calibration"  # calibration tag X does not exist
    EXIT_CODE = "exit_code"  # ended with a non-zero exit code, no known line
    SIGNAL = "signal"  # died by a signal nobody sent
    NO_RESULT = "no_result"  # exited 0 but never closed its result file
    LAUNCH_FAILED = "launch_failed"  # the command could not be started


KNOWN: list[tuple[ErrorClass, re.Pattern[str]]] = [
    (ErrorClass.BOARD_UNREACHABLE, re.compile(r"ControlHub returned error code 3")),
    (ErrorClass.HOST_NOT_FOUND, re.compile(r"Host not found")),
    (ErrorClass.NO_OBJECT_ENABLED, re.compile(r"No object enabled")),
    (ErrorClass.FIRMWARE_NOT_LOADED, re.compile(r"lpGBT TX Ready.*FAILED")),
    (ErrorClass.UNKNOWN_CALIBRATION, re.compile(r"calibration tag \S+ does not exist")),
]


def classify(text: str) -> ErrorClass | None:
    """The known failure a line of output shows, if any."""
    for error, pattern in KNOWN:
        if pattern.search(text):
            return error
    return None
