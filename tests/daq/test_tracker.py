"""The run's state from its output and its end."""

from __future__ import annotations

from trackerdcs.daq.errors import ErrorClass
from trackerdcs.daq.logline import parse_line
from trackerdcs.daq.tracker import RunTracker, State, StopReason, exit_fields


def feed(tracker: RunTracker, *texts: str) -> None:
    for text in texts:
        tracker.feed(parse_line(f"01.12.2026 10:00:00: |7|I| {text}"))


def test_a_good_run() -> None:
    t = RunTracker()
    t.launched()
    assert t.state is State.CONFIGURING
    feed(t, "Configured", "Run 42 started")
    assert (t.state, t.run) == (State.RUNNING, 42)
    feed(
        t,
        "Starting PedeNoise measurement.",
        "Done with PedeNoise.",
        "Closing result file: Results/Run_42/Results.root",
    )
    assert t.step == "PedeNoise"
    t.ended(0)
    assert (t.state, t.status, t.error_class, t.results) == (
        State.DONE,
        "done",
        None,
        "Results/Run_42/Results.root",
    )


def test_exit_zero_with_a_known_failure_line_is_failed() -> None:
    t = RunTracker()
    t.launched()
    feed(t, "OpticalGroup 0 lpGBT TX Ready polling : FAILED")
    t.ended(0)
    assert (t.status, t.error_class) == ("failed", ErrorClass.FIRMWARE_NOT_LOADED)
    assert t.error_line == "OpticalGroup 0 lpGBT TX Ready polling : FAILED"


def test_exit_zero_without_a_result_file_is_failed() -> None:
    t = RunTracker()
    t.launched()
    t.ended(0)
    assert (t.status, t.error_class) == ("failed", ErrorClass.NO_RESULT)


def test_a_signal_nobody_sent() -> None:
    t = RunTracker()
    t.launched()
    t.ended(-6)
    assert (t.status, t.error_class) == ("failed", ErrorClass.SIGNAL)
    assert exit_fields(-6) == {"exit_code": None, "signal": "SIGABRT"}
    assert exit_fields(3) == {"exit_code": 3, "signal": None}


def test_stops_end_aborted_and_an_interlock_says_so() -> None:
    for reason, status in ((StopReason.OPERATOR, "aborted"), (StopReason.INTERLOCK, "interlocked")):
        t = RunTracker()
        t.launched()
        t.stopping(reason, "dewpoint")
        assert t.state is State.STOPPING
        t.stopping(StopReason.IDLE_TIMEOUT)  # the first reason stays
        t.ended(-6)
        assert (t.state, t.status, t.stop_reason, t.stop_detail) == (
            State.ABORTED,
            status,
            reason,
            "dewpoint",
        )
