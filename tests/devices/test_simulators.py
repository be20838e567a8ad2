"""The simulated devices and the power-supply model, driven by a manual clock.

No broker and no sleeps: a 100 s ramp is 200 steps of a :class:`ManualClock`.
"""

from __future__ import annotations

from typing import Any

import pytest

from trackerdcs.contract.payloads import CommandRejected, Reason
from trackerdcs.contract.topics import parse_inbound
from trackerdcs.devices.base import Device
from trackerdcs.devices.clock import ManualClock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.physics import (
    dew_point,
    leakage_temperature_factor,
    leakage_voltage_shape,
)
from trackerdcs.devices.registry import create_device, drivers_for
from trackerdcs.devices.sim.hv import SimulatedHV
from trackerdcs.devices.sim.lv import LEAK_OHMS, SimulatedLV
from trackerdcs.devices.supply import PowerSupply

# -- helpers -----------------------------------------------------------------------------


def make(clock: ManualClock, name: str, kind: str, **config: Any) -> Device:
    return create_device(DeviceConfig.model_validate({"name": name, "kind": kind, **config}), clock)


def hv_device(clock: ManualClock, **config: Any) -> Device:
    return make(clock, "hv", "hv", seed=1, **config)


def send(device: Device, topic: str, payload: str = "") -> str:
    return device.handle(parse_inbound(topic), payload)


def rejection(device: Device, topic: str, payload: str = "") -> CommandRejected:
    with pytest.raises(CommandRejected) as info:
        send(device, topic, payload)
    return info.value


def channels(device: Device) -> list[dict[str, Any]]:
    body = device.read().body
    assert isinstance(body, list)
    return body


def channel(device: Device, number: int = 0) -> dict[str, Any]:
    return channels(device)[number]


def readings(device: Device) -> dict[str, Any]:
    body = device.read().body
    assert isinstance(body, dict)
    return body


def ramp_to(device: Device, clock: ManualClock, volts: float, seconds: float, ch: int = 0) -> None:
    send(device, f"/{device.name}/cmd/setv/{ch}", str(volts))
    send(device, f"/{device.name}/cmd/switch/{ch}", "on")
    channel(device, ch)
    clock.advance(seconds)
    assert channel(device, ch)["state"] == "on"


# -- the clock ---------------------------------------------------------------------------


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(start=1000.0)
    assert (clock.monotonic(), clock.time()) == (0.0, 1000.0)
    clock.advance(2.5)
    assert (clock.monotonic(), clock.time()) == (2.5, 1002.5)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


# -- HV: ramps ---------------------------------------------------------------------------


def test_hv_status_is_the_seed_list_with_extra_keys() -> None:
    clock = ManualClock()
    hv = hv_device(clock)
    sample = hv.read()
    assert sample.ts == clock.time()
    assert sample.body == [
        {
            "number": 0,
            "on": 0,
            "vreq": 0.0,
            "vmon": 0.0,
            "imon": 0.0,
            "ilimit": 100e-6,
            "rampup": 10.0,
            "rampdown": 10.0,
            "state": "off",
        }
    ]


def test_hv_ramps_up_at_10_v_per_s_and_is_on_after_100_s() -> None:
    clock = ManualClock()
    hv = hv_device(clock)
    assert send(hv, "/hv/cmd/setv/0", "1000") == "channel 0: vreq set to 1000 V"
    assert send(hv, "/hv/cmd/switch/0", "on") == "channel 0: output on"
    assert channel(hv)["state"] == "ramping_up"
    for step in range(1, 200):  # up to 99.5 s
        clock.advance(0.5)
        status = channel(hv)
        assert status["state"] == "ramping_up", f"at {step * 0.5} s"
        assert status["vmon"] == pytest.approx(5.0 * step)
        assert status["on"] == 1
    clock.advance(0.5)  # 100 s
    status = channel(hv)
    assert (status["state"], status["vmon"], status["on"], status["vreq"]) == ("on", 1000.0, 1, 1000.0)
    clock.advance(10)
    assert (channel(hv)["state"], channel(hv)["vmon"]) == ("on", 1000.0)


def test_a_ramp_is_exact_whatever_the_time_step() -> None:
    clock = ManualClock()
    hv = hv_device(clock)
    send(hv, "/hv/cmd/setv/0", "1000")
    send(hv, "/hv/cmd/switch/0", "on")
    channel(hv)
    clock.advance(37.3)
    assert channel(hv)["vmon"] == pytest.approx(373.0)
    clock.advance(1000)
    assert channel(hv)["vmon"] == 1000.0


def test_hv_switch_off_ramps_down_at_the_ramp_down_speed() -> None:
    clock = ManualClock()
    hv = hv_device(clock, ramp_down=20.0)
    ramp_to(hv, clock, 1000, 100)
    assert send(hv, "/hv/cmd/switch/0", "off") == "channel 0: output off"
    channel(hv)
    clock.advance(25)
    status = channel(hv)
    assert (status["state"], status["vmon"], status["on"]) == ("ramping_down", 500.0, 0)
    clock.advance(24.5)
    assert channel(hv)["vmon"] == pytest.approx(10.0)
    clock.advance(0.5)
    status = channel(hv)
    assert (status["state"], status["vmon"]) == ("off", 0.0)


def test_a_new_ramp_speed_applies_to_the_next_steps() -> None:
    clock = ManualClock()
    hv = hv_device(clock)
    assert send(hv, "/hv/cmd/rampup/0", "50") == "channel 0: ramp_up set to 50 V/s"
    send(hv, "/hv/cmd/setv/0", "500")
    send(hv, "/hv/cmd/switch/0", "on")
    channel(hv)
    clock.advance(5)
    assert (channel(hv)["state"], channel(hv)["vmon"]) == ("ramping_up", 250.0)
    clock.advance(5)
    status = channel(hv)
    assert (status["state"], status["vmon"], status["rampup"]) == ("on", 500.0, 50.0)
    send(hv, "/hv/cmd/rampdown/0", "25")
    send(hv, "/hv/cmd/setv/0", "300")  # lowering vreq while on ramps down
    clock.advance(4)
    status = channel(hv)
    assert (status["state"], status["vmon"]) == ("ramping_down", 400.0)


# -- HV: leakage and trips ---------------------------------------------------------------


def test_leakage_grows_as_sqrt_v_below_depletion_and_slowly_above() -> None:
    sim = SimulatedHV(1, {"depletion": 300.0, "i_ref": 2e-6}, seed=1)
    assert sim.leakage(0, 0.0) == 0.0
    assert sim.leakage(0, 300.0) == pytest.approx(2e-6)
    assert sim.leakage(0, 75.0) == pytest.approx(1e-6)  # sqrt(1/4)
    assert sim.leakage(0, 600.0) == pytest.approx(2.2e-6)  # +10 % per depletion voltage
    currents = [sim.leakage(0, v) for v in range(0, 1001, 50)]
    assert currents == sorted(currents)
    assert len(set(currents)) == len(currents)


def test_leakage_voltage_shape() -> None:
    assert leakage_voltage_shape(-10.0, 100.0) == 0.0
    assert leakage_voltage_shape(25.0, 100.0) == pytest.approx(0.5)
    assert leakage_voltage_shape(100.0, 100.0) == 1.0
    assert leakage_voltage_shape(200.0, 100.0) == pytest.approx(1.1)


def test_leakage_roughly_doubles_for_seven_degrees_more() -> None:
    assert leakage_temperature_factor(20.0) == 1.0
    assert 1.7 < leakage_temperature_factor(27.0) < 2.2
    assert 1.7 < leakage_temperature_factor(7.0, reference=0.0) < 2.2
    assert 1 / 70 < leakage_temperature_factor(-20.0) < 1 / 45
    sim = SimulatedHV(1, {}, seed=1)
    cold = sim.leakage(0, 500.0)
    send_temperature = sim.sim_parameters()["temperature"].run
    send_temperature(None, "27")
    assert sim.leakage(0, 500.0) / cold == pytest.approx(leakage_temperature_factor(27.0))


def test_measured_current_follows_the_leakage_model() -> None:
    clock = ManualClock()
    hv = hv_device(clock, sim={"noise": 0.0})
    ramp_to(hv, clock, 300, 30)
    clock.advance(1)
    assert channel(hv)["imon"] == pytest.approx(2e-6)


def test_too_much_leakage_trips_the_channel_and_on_is_refused_until_reset() -> None:
    clock = ManualClock()
    hv = hv_device(clock)
    ramp_to(hv, clock, 1000, 100)
    assert send(hv, "/hv/sim/leakage_scale", "100") == "leakage_scale set to 100"
    clock.advance(0.5)
    status = channel(hv)
    assert (status["state"], status["on"], status["vmon"], status["imon"]) == ("tripped", 0, 0.0, 0.0)
    assert status["vreq"] == 1000.0  # the setpoint is kept
    clock.advance(10)
    assert channel(hv)["state"] == "tripped"  # a trip latches

    refused = rejection(hv, "/hv/cmd/switch/0", "on")
    assert refused.reason is Reason.TRIPPED
    assert "reset" in refused.message

    assert send(hv, "/hv/cmd/reset/0") == "channel 0: trip cleared, output off"
    status = channel(hv)
    assert (status["state"], status["on"], status["vmon"]) == ("off", 0, 0.0)


def test_switch_off_also_clears_a_trip() -> None:
    clock = ManualClock()
    hv = hv_device(clock)
    ramp_to(hv, clock, 500, 50)
    send(hv, "/hv/sim/trip/0", "1")
    assert channel(hv)["state"] == "tripped"
    send(hv, "/hv/cmd/switch/0", "off")
    assert channel(hv)["state"] == "off"
    send(hv, "/hv/sim/leakage_scale", "1")
    send(hv, "/hv/cmd/switch/0", "on")  # now accepted again
    clock.advance(50)
    assert (channel(hv)["state"], channel(hv)["vmon"]) == ("on", 500.0)


def test_a_lower_current_limit_trips_a_channel_that_draws_more() -> None:
    clock = ManualClock()
    hv = hv_device(clock, sim={"noise": 0.0})
    ramp_to(hv, clock, 300, 30)
    send(hv, "/hv/cmd/seti/0", "1e-6")  # the sensor draws 2 µA at depletion
    clock.advance(0.5)
    assert channel(hv)["state"] == "tripped"


def test_leakage_scale_on_one_channel_trips_only_that_channel() -> None:
    clock = ManualClock()
    hv = hv_device(clock, channels=3)
    for ch in range(3):
        send(hv, f"/hv/cmd/setv/{ch}", "500")
        send(hv, f"/hv/cmd/switch/{ch}", "on")
    channels(hv)
    clock.advance(50)
    assert [c["state"] for c in channels(hv)] == ["on", "on", "on"]
    assert send(hv, "/hv/sim/leakage_scale/1", "100") == "leakage_scale set to 100 on channel 1"
    clock.advance(0.5)
    assert [c["state"] for c in channels(hv)] == ["on", "tripped", "on"]
    assert [c["on"] for c in channels(hv)] == [1, 0, 1]


def test_switch_on_right_after_reset_is_accepted() -> None:
    clock = ManualClock()
    hv = hv_device(clock)
    ramp_to(hv, clock, 500, 50)
    send(hv, "/hv/sim/trip/0", "1")
    assert channel(hv)["state"] == "tripped"
    send(hv, "/hv/cmd/reset/0")
    assert send(hv, "/hv/cmd/switch/0", "on") == "channel 0: output on"  # no read() in between


# -- the model rejects, never clips ------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("/hv/cmd/setv/0", "1000.001", Reason.OUT_OF_RANGE),
        ("/hv/cmd/setv/0", "5000", Reason.OUT_OF_RANGE),
        ("/hv/cmd/setv/0", "-1", Reason.OUT_OF_RANGE),
        ("/hv/cmd/setv/0", "nan", Reason.BAD_PAYLOAD),
        ("/hv/cmd/setv/0", "lots", Reason.BAD_PAYLOAD),
        ("/hv/cmd/seti/0", "0.001", Reason.OUT_OF_RANGE),
        ("/hv/cmd/seti/0", "0", Reason.OUT_OF_RANGE),
        ("/hv/cmd/seti/0", "-1e-6", Reason.OUT_OF_RANGE),
        ("/hv/cmd/rampup/0", "0", Reason.OUT_OF_RANGE),
        ("/hv/cmd/rampup/0", "50.5", Reason.OUT_OF_RANGE),
        ("/hv/cmd/rampdown/0", "1e6", Reason.OUT_OF_RANGE),
        ("/hv/cmd/switch/0", "maybe", Reason.BAD_PAYLOAD),
        ("/hv/cmd/setv/1", "10", Reason.UNKNOWN_CHANNEL),
        ("/hv/cmd/setv/63", "10", Reason.UNKNOWN_CHANNEL),
        ("/hv/cmd/fly/0", "10", Reason.UNKNOWN_COMMAND),
        ("/hv/sim/warp", "1", Reason.UNKNOWN_COMMAND),
        ("/hv/cmd/setv", "10", Reason.BAD_TOPIC),
        ("/hv/cmd/reset", "", Reason.BAD_TOPIC),
        ("/hv/sim/trip", "1", Reason.BAD_TOPIC),
        ("/hv/sim/temperature/0", "25", Reason.BAD_TOPIC),  # a device-wide parameter
        ("/hv/sim/leakage_scale", "1e5", Reason.OUT_OF_RANGE),
        ("/hv/sim/leakage_scale/4", "2", Reason.UNKNOWN_CHANNEL),
    ],
)
def test_bad_requests_are_rejected_and_change_nothing(topic: str, payload: str, reason: Reason) -> None:
    clock = ManualClock()
    hv = hv_device(clock)
    send(hv, "/hv/cmd/setv/0", "50")
    before = channel(hv)
    assert rejection(hv, topic, payload).reason is reason
    after = channel(hv)
    assert after == before
    assert (after["vreq"], after["ilimit"], after["rampup"], after["rampdown"]) == (50.0, 100e-6, 10.0, 10.0)


def test_the_limits_themselves_are_accepted() -> None:
    hv = hv_device(ManualClock())
    send(hv, "/hv/cmd/setv/0", "1000")
    send(hv, "/hv/cmd/seti/0", "1e-4")
    send(hv, "/hv/cmd/rampup/0", "50")  # ramp_max defaults to 5 x the ramp speed
    send(hv, "/hv/cmd/rampdown/0", "0.1")
    status = channel(hv)
    assert (status["vreq"], status["ilimit"], status["rampup"], status["rampdown"]) == (
        1000.0,
        1e-4,
        50.0,
        0.1,
    )


def test_a_rejection_names_the_limit() -> None:
    hv = hv_device(ManualClock(), vmax=500.0)
    refused = rejection(hv, "/hv/cmd/setv/0", "600")
    assert refused.message == "voltage 600 V is outside [0, 500] V"
    assert rejection(hv, "/hv/cmd/fly/0", "1").message.startswith("unknown command 'fly' (known: rampdown,")
    assert "/hv/cmd/setv/<channel>" in rejection(hv, "/hv/cmd/setv", "1").message


def test_configured_limits_replace_the_defaults() -> None:
    hv = hv_device(ManualClock(), vmax=200.0, ilimit=1e-5, ramp_up=5.0, ramp_down=2.0)
    assert isinstance(hv, PowerSupply)
    settings = hv.settings[0]
    assert (settings.ilimit, settings.ramp_up, settings.ramp_down) == (1e-5, 5.0, 2.0)
    assert hv.limits()["vreq"] == {"min": 0.0, "max": 200.0}
    assert hv.limits()["rampup"] == {"min": 0.0, "max": 25.0}
    assert rejection(hv, "/hv/cmd/setv/0", "201").reason is Reason.OUT_OF_RANGE


# -- LV ----------------------------------------------------------------------------------


def test_lv_draws_constant_power_above_the_lock_out() -> None:
    clock = ManualClock()
    lv = make(clock, "lv", "lv", seed=2, sim={"noise": 0.0, "load_power": 5.0, "uvlo": 6.0})
    send(lv, "/lv/cmd/switch/0", "on")
    channel(lv)  # the simulator's time starts at its first poll
    currents = {}
    for volts in (3.0, 5.0, 6.0, 8.0, 10.0, 12.0):
        send(lv, "/lv/cmd/setv/0", str(volts))
        clock.advance(2)
        status = channel(lv)
        assert (status["state"], status["vmon"]) == ("on", volts)
        currents[volts] = status["imon"]
    # below the lock-out: only the resistive leak
    assert currents[3.0] == pytest.approx(3.0 / LEAK_OHMS)
    assert currents[5.0] == pytest.approx(5.0 / LEAK_OHMS)
    # above: P / V, so the current falls as the voltage rises
    for volts in (6.0, 8.0, 10.0, 12.0):
        assert currents[volts] == pytest.approx(5.0 / volts + volts / LEAK_OHMS)
    assert currents[6.0] > currents[8.0] > currents[10.0] > currents[12.0]


def test_lv_load_current_model() -> None:
    sim = SimulatedLV(2, {"load_power": 10.0, "uvlo": 6.0}, seed=0)
    assert sim.load_current(0, 0.0) == 0.0
    assert sim.load_current(0, 5.99) == pytest.approx(5.99 / LEAK_OHMS)
    assert sim.load_current(0, 10.0) == pytest.approx(1.0 + 0.01)
    sim.sim_parameters()["load_power"].run(1, "20")
    assert sim.load_current(1, 10.0) == pytest.approx(2.0 + 0.01)
    assert sim.load_current(0, 10.0) == pytest.approx(1.0 + 0.01)  # the other channel keeps 10 W


def test_lv_over_current_trips() -> None:
    clock = ManualClock()
    lv = make(clock, "lv", "lv", seed=2, sim={"noise": 0.0})
    ramp_to(lv, clock, 10, 2)
    assert channel(lv)["imon"] == pytest.approx(0.51)
    send(lv, "/lv/cmd/seti/0", "0.4")
    clock.advance(0.1)
    status = channel(lv)
    assert (status["state"], status["on"], status["vmon"], status["imon"]) == ("tripped", 0, 0.0, 0.0)
    assert rejection(lv, "/lv/cmd/switch/0", "on").reason is Reason.TRIPPED


def test_lv_more_load_power_than_the_limit_allows_trips() -> None:
    clock = ManualClock()
    lv = make(clock, "lv", "lv", seed=2)
    ramp_to(lv, clock, 12, 2)
    send(lv, "/lv/sim/load_power", "40")  # 40 W / 12 V = 3.3 A > 2.5 A
    clock.advance(0.1)
    assert channel(lv)["state"] == "tripped"


def test_lv_limits() -> None:
    lv = make(ManualClock(), "lv", "lv")
    assert rejection(lv, "/lv/cmd/setv/0", "12.5").reason is Reason.OUT_OF_RANGE
    assert rejection(lv, "/lv/cmd/seti/0", "3").reason is Reason.OUT_OF_RANGE
    assert rejection(lv, "/lv/sim/load_power", "201").reason is Reason.OUT_OF_RANGE
    assert channel(lv)["vreq"] == 0.0


# -- environment -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("temperature", "humidity", "expected"),
    [
        (20.0, 50.0, 9.26),
        (25.0, 60.0, 16.69),
        (0.0, 100.0, 0.0),
        (20.0, 100.0, 20.0),
        (30.0, 80.0, 26.17),
        (-10.0, 50.0, -18.4),
    ],
)
def test_dew_point_matches_the_magnus_formula(temperature: float, humidity: float, expected: float) -> None:
    assert dew_point(temperature, humidity) == pytest.approx(expected, abs=0.1)


def test_dew_point_is_never_above_the_temperature_and_stays_finite_at_zero_humidity() -> None:
    for humidity in (0.0, 0.1, 1.0, 30.0, 99.9, 100.0, 150.0):
        assert dew_point(20.0, humidity) <= 20.0 + 1e-9
    assert dew_point(20.0, 0.0) == dew_point(20.0, 0.1)
    assert dew_point(20.0, 150.0) == pytest.approx(20.0)


def test_environment_publishes_temperature_humidity_and_dew_point() -> None:
    clock = ManualClock()
    env = make(clock, "env", "env", seed=5, sim={"temperature": 22.0, "humidity": 40.0})
    body = readings(env)
    assert set(body) == {"temperature", "humidity", "dewpoint"}
    assert body["temperature"] == pytest.approx(22.0, abs=0.2)
    assert body["humidity"] == pytest.approx(40.0, abs=1.0)
    assert body["dewpoint"] == pytest.approx(dew_point(body["temperature"], body["humidity"]), abs=0.01)


def test_steering_humidity_to_95_moves_the_dew_point_near_the_temperature() -> None:
    clock = ManualClock()
    env = make(clock, "env", "env", seed=5)
    before = readings(env)
    assert before["temperature"] - before["dewpoint"] > 8  # 30 % at 20 °C
    assert send(env, "/env/sim/humidity", "95") == "humidity set to 95"
    clock.advance(1)
    body = readings(env)
    assert body["humidity"] == pytest.approx(95.0, abs=2.0)
    assert 0 < body["temperature"] - body["dewpoint"] < 1.5


def test_steering_temperature() -> None:
    clock = ManualClock()
    env = make(clock, "env", "env", seed=5)
    send(env, "/env/sim/temperature", "-20")
    clock.advance(1)
    assert readings(env)["temperature"] == pytest.approx(-20.0, abs=0.5)
    assert rejection(env, "/env/sim/temperature", "100").reason is Reason.OUT_OF_RANGE
    assert rejection(env, "/env/sim/humidity", "101").reason is Reason.OUT_OF_RANGE


@pytest.mark.parametrize(("humidity", "drift"), [(30.0, 0.2), (99.0, 10.0), (1.0, 10.0)])
def test_environment_stays_bounded_over_a_long_run(humidity: float, drift: float) -> None:
    clock = ManualClock()
    env = make(clock, "env", "env", seed=7, sim={"humidity": humidity, "drift": drift})
    seen = []
    for step in range(3000):
        clock.advance(0.5 if step % 2 else 60.0)
        body = readings(env)
        assert 0.0 <= body["humidity"] <= 100.0
        assert body["dewpoint"] <= body["temperature"] + 0.01
        assert abs(body["temperature"] - 20.0) < 8 * drift + 1
        seen.append(body["humidity"])
    assert max(seen) > min(seen)  # it does drift


def test_the_same_seed_gives_the_same_readings() -> None:
    def run(seed: int) -> list[dict[str, Any]]:
        clock = ManualClock()
        env = make(clock, "env", "env", seed=seed)
        out = []
        for _ in range(20):
            clock.advance(5)
            out.append(readings(env))
        return out

    assert run(3) == run(3)
    assert run(3) != run(4)


# -- relay and dummy sensor --------------------------------------------------------------


def test_relay_switches_each_channel() -> None:
    clock = ManualClock()
    relay = make(clock, "relay", "relay", channels=2)
    assert relay.read().body == [{"number": 0, "on": 0}, {"number": 1, "on": 0}]
    assert send(relay, "/relay/cmd/switch/1", "on") == "relay 1 on"
    sample = relay.read()
    assert sample.body == [{"number": 0, "on": 0}, {"number": 1, "on": 1}]
    assert sample.key == (False, True)
    send(relay, "/relay/cmd/switch/0", "ON")
    send(relay, "/relay/cmd/switch/1", "0")
    assert relay.read().body == [{"number": 0, "on": 1}, {"number": 1, "on": 0}]
    assert rejection(relay, "/relay/cmd/switch/2", "on").reason is Reason.UNKNOWN_CHANNEL
    assert rejection(relay, "/relay/cmd/switch/0", "half").reason is Reason.BAD_PAYLOAD
    assert rejection(relay, "/relay/sim/stuck", "1").reason is Reason.NOT_SIMULATED


def test_dummy_sensor_publishes_a_sine_and_its_mirror() -> None:
    clock = ManualClock()
    dummy = make(clock, "sensor_1", "dummy")
    for seconds in (0.0, 15.0, 10.0, 20.0):
        clock.advance(seconds)
        body = readings(dummy)
        assert set(body) == {"meas1", "meas2"}
        assert isinstance(body["meas1"], float) and isinstance(body["meas2"], float)
        assert body["meas2"] == -body["meas1"]
    clock.advance(0)  # t = 45 s: three quarters of the 60 s period
    assert readings(dummy)["meas1"] == pytest.approx(-1.0)
    send(dummy, "/sensor_1/sim/period", "180")
    assert readings(dummy)["meas1"] == pytest.approx(1.0)  # 45 s is now a quarter period


# -- meta --------------------------------------------------------------------------------


def test_hv_meta_lists_commands_sim_parameters_units_and_limits() -> None:
    meta = hv_device(ManualClock(), channels=2, period=2.0).meta()
    assert (meta.kind, meta.driver, meta.channels, meta.period) == ("hv", "sim", [0, 1], 2.0)
    assert meta.commands == ["rampdown", "rampup", "reset", "seti", "setv", "switch"]
    assert meta.sim_parameters == ["depletion", "leakage_scale", "noise", "temperature", "trip"]
    assert meta.units["vmon"] == "V" and meta.units["imon"] == "A"
    assert meta.limits["vreq"] == {"min": 0.0, "max": 1000.0}
    assert meta.limits["ilimit"] == {"min": 0.0, "max": 100e-6}


@pytest.mark.parametrize(
    ("kind", "commands", "sim_parameters", "channel_list"),
    [
        (
            "lv",
            ["rampdown", "rampup", "reset", "seti", "setv", "switch"],
            ["load_power", "noise", "trip", "uvlo"],
            [0],
        ),
        ("env", [], ["drift", "humidity", "noise", "temperature"], []),
        ("relay", ["switch"], [], [0]),
        ("dummy", [], ["period"], []),
    ],
)
def test_meta_of_every_kind(
    kind: str, commands: list[str], sim_parameters: list[str], channel_list: list[int]
) -> None:
    meta = make(ManualClock(), kind, kind).meta()
    assert (meta.kind, meta.commands, meta.sim_parameters, meta.channels) == (
        kind,
        commands,
        sim_parameters,
        channel_list,
    )


def test_an_unknown_driver_is_a_key_error() -> None:
    assert drivers_for("hv") == ["caen_n1470", "keithley2410", "sim"]
    with pytest.raises(KeyError, match="no driver 'visa' for kind 'hv'"):
        make(ManualClock(), "hv", "hv", driver="visa")
