"""The [daq] table: a bad one names the file, the key and the problem."""

from __future__ import annotations

import pytest

from trackerdcs.stand import StandError, default_stand_text, parse_stand


def with_daq(extra: str) -> str:
    base = default_stand_text().split("\n[daq]")[0]
    return base + "\n[daq]\n" + extra


def test_the_demo_stand_runs_the_simulator() -> None:
    stand = parse_stand(default_stand_text(), "demo.toml")
    assert stand.daq is not None
    assert stand.daq.argv({"python": "py", "config": "a b.xml", "calibration": "pedenoise"})[-4:] == [
        "-f", "a b.xml", "-c", "pedenoise",
    ]  # fmt: skip


def test_per_calibration_requirements_and_timeouts() -> None:
    stand = parse_stand(
        with_daq('[daq.require]\ndefault = "LV_ON"\npedenoise = "HV_ON"\n[daq.timeouts]\npedenoise = 10\n'),
        "s.toml",
    )
    assert stand.daq is not None
    assert (stand.daq.required_state("pedenoise"), stand.daq.required_state("calibration")) == (
        "HV_ON",
        "LV_ON",
    )
    assert (stand.daq.timeout_for("pedenoise"), stand.daq.timeout_for("calibration")) == (10, 7200)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('modules = ["M9"]', "s.toml: daq.modules[0]: no module 'M9' (modules: M1)"),
        ('command = ["x", "{shell}"]', "s.toml: daq.command: unknown placeholder {shell}"),
        ('store = "mongodb://u:pw@h/db"', "s.toml: daq.store: no password in the URL"),
        ('store = "postgres://h/db"', "s.toml: daq.store: expected mongodb://"),
        ("[daq.timeouts]\nnope = 3", "s.toml: daq: timeouts: 'nope' is not in calibrations"),
        ("idle_timeout = -1", "s.toml: daq.idle_timeout: Input should be greater than 0"),
        ('name = "hv"', "s.toml: daq.name: 'hv' is already a device"),
        ("surprise = 1", "s.toml: daq.surprise: Extra inputs are not permitted"),
    ],
)
def test_bad_tables(extra: str, message: str) -> None:
    with pytest.raises(StandError) as caught:
        parse_stand(with_daq(extra), "s.toml")
    assert str(caught.value).startswith(message), str(caught.value)
