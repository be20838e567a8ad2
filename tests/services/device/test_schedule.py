"""A device polls and publishes on a grid at a phase of its own, so a stand's statuses do
not fall into step (docs/decisions/0033). Driven here by a clock the test moves."""

from __future__ import annotations

import itertools

import pytest

from trackerdcs.services.device.schedule import Schedule, phase_of


def run(schedule: Schedule, until: float, start: float) -> list[float]:
    """Poll as the device service does, from ``start``; a status goes out when due."""
    now, published = start, []
    while now < until:
        if schedule.due(now):
            schedule.published(now)
            published.append(now)
        now += schedule.until_poll(now) + 0.0007  # a timer fires a little late
    return published


@pytest.mark.parametrize("start", [0.0, 0.13, 3.91])
def test_statuses_go_out_a_period_apart_at_the_phase_whenever_the_device_started(start: float) -> None:
    published = run(Schedule(period=1.0, poll=0.25, phase=0.4), until=20.0, start=start)
    assert published[0] == start  # the first at once
    steady = published[1:]
    assert all(abs(t % 1.0 - 0.4) < 0.01 for t in steady), steady
    assert all(abs(b - a - 1.0) < 0.01 for a, b in itertools.pairwise(steady))


def test_a_timer_firing_a_hair_early_still_publishes_on_time() -> None:
    schedule = Schedule(period=1.0, poll=0.25, phase=0.0)
    schedule.published(0.0)
    assert schedule.due(1.0 - 1e-9)
    assert not schedule.due(0.75)


@pytest.mark.parametrize("change", [2.66, 3.41, 3.39])
def test_after_a_status_off_the_grid_the_next_periodic_one_is_on_it_within_a_period(change: float) -> None:
    """A command is answered with a status at once, wherever it falls between two polls."""
    schedule = Schedule(period=1.0, poll=0.25, phase=0.4)
    schedule.published(change)
    polls = [0.4 + k * 0.25 for k in range(30)]
    after = next(t for t in polls if t > change and schedule.due(t))
    assert abs(after % 1.0 - 0.4) < 1e-9 and after - change <= 1.0 + 0.25 / 2, after


def test_polls_fall_on_the_grid_in_between() -> None:
    schedule = Schedule(period=1.0, poll=0.25, phase=0.1)
    assert schedule.until_poll(0.0) == pytest.approx(0.1)
    assert schedule.until_poll(0.1) == pytest.approx(0.25)
    assert schedule.until_poll(0.3) == pytest.approx(0.05)


def test_the_phases_of_a_stand_spread_evenly_over_the_period() -> None:
    phases = [phase_of(i, 160, 1.0) for i in range(160)]
    assert phases[0] == 0.0 and max(phases) < 1.0
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(phases)}
    assert gaps == {round(1 / 160, 9)}
    assert phase_of(0, 0, 1.0) == 0.0
