"""Ph2_ACF's log lines, as the real PS-module run of the research note prints them."""

from __future__ import annotations

import pytest

from trackerdcs.daq.errors import ErrorClass, classify
from trackerdcs.daq.logline import Kind, parse_line

GREEN, RESET = "\x1b[1m\x1b[32m", "\x1b[0m"
REAL = [
    ("Configured", Kind.CONFIGURED, None),
    ("Run 500749 started", Kind.RUN_STARTED, "500749"),
    ("Starting OTVTRxLightYieldScan measurement.", Kind.STEP_STARTED, "OTVTRxLightYieldScan"),
    ("Done with OTVTRxLightYieldScan.", Kind.STEP_DONE, "OTVTRxLightYieldScan"),
    (
        "Closing result file: Results/Run_500749/Results.root",
        Kind.RESULT_FILE,
        "Results/Run_500749/Results.root",
    ),
    ("Run 500749 stopped", Kind.RUN_STOPPED, "500749"),
    (
        "Closing monitor result file: MonitorResults/MonitorDQM_2025-05-29_15-59-47.root",
        Kind.MONITOR_FILE,
        "MonitorResults/MonitorDQM_2025-05-29_15-59-47.root",
    ),
    ("Halted", Kind.HALTED, None),
]


@pytest.mark.parametrize(("text", "kind", "value"), REAL)
def test_real_lines_with_colours(text: str, kind: Kind, value: str | None) -> None:
    line = parse_line(f"29.05.2025 15:59:54: |140489373334720|I| {GREEN}{text}{RESET}\n")
    assert (line.kind, line.value, line.text) == (kind, value, text)
    assert line.local_time == "29.05.2025 15:59:54"
    assert line.thread == "140489373334720"
    assert line.level == "I"


@pytest.mark.parametrize(
    "raw",
    [
        "Total execution time:  finished at: Thu May 29 16:04:40 2025",
        "\telapsed time: 293.01 seconds",
        "",
        "\x00\xff",
    ],
)
def test_other_lines_are_plain_text(raw: str) -> None:
    line = parse_line(raw)
    assert line.kind is Kind.OTHER
    assert line.level is None


def test_a_run_started_inside_other_text_is_not_an_event() -> None:
    line = parse_line("29.05.2025 15:59:54: |1|W| Previous Run 12 started badly")
    assert line.kind is Kind.OTHER
    assert line.level == "W"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("  what():  ControlHub returned error code 3", ErrorClass.BOARD_UNREACHABLE),
        ("  what():  Host not found (authoritative)", ErrorClass.HOST_NOT_FOUND),
        ("ExceptionHandler Error: No object enabled in fDetectorContainer", ErrorClass.NO_OBJECT_ENABLED),
        ("OpticalGroup 0 lpGBT TX Ready polling : FAILED", ErrorClass.FIRMWARE_NOT_LOADED),
        ("Error: calibration tag nope does not exist", ErrorClass.UNKNOWN_CALIBRATION),
        ("Done with PedeNoise.", None),
    ],
)
def test_known_failures(text: str, error: ErrorClass | None) -> None:
    assert classify(text) is error
