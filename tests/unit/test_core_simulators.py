"""Simulators and the power-supply model with injected time: no broker, no sleeps."""

from __future__ import annotations

import pytest

from trackerdcs.contract.payloads import CommandRejected, Reason
from trackerdcs.contract.topics import parse_inbound
from trackerdcs.devices.base import Device
from trackerdcs.devices.clock import ManualClock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.physics import dew_point, leakage_temperature_factor
from trackerdcs.devices.registry import create_device
from trackerdcs.devices.sim.hv import SimulatedHV
from trackerdcs.devices.supply import PowerSupply


def make(clock: ManualClock, **config: object) -> Device:
    return create_device(DeviceConfig.model_validate({"name": config.get("kind"), **config}), clock)


def send(device: Device, topic: str, payload: str) -> str:
    return device.handle(parse_inbound(topic), payload)


def channel(device: Device) -> dict[str, object]:
    body = device.read().body
    assert isinstance(body, list)
    return body[0]


def test_a_100_s_hv_ramp_takes_100_simulated_seconds() -> None:
    clock = ManualClock()
    hv = make(clock, kind="hv", seed=1)
    send(hv, "/hv/cmd/setv/0", "1000")
    send(hv, "/hv/cmd/switch/0", "on")
    channel(hv)
    for _ in range(199):  # 99.5 s
        clock.advance(0.5)
        assert channel(hv)["state"] == "ramping_up"
    clock.advance(0.5)
    status = channel(hv)
    assert (status["state"], status["vmon"], status["on"]) == ("on", 1000.0, 1)
    send(hv, "/hv/cmd/switch/0", "off")
    clock.advance(50)
    status = channel(hv)
    assert (status["state"], status["vmon"]) == ("ramping_down", 500.0)


def test_leakage_grows_with_voltage_and_doubles_about_every_seven_degrees() -> None:
    sim = SimulatedHV(1, {}, seed=1)
    assert sim.leakage(0, 75) == pytest.approx(sim.leakage(0, 300) / 2)  # sqrt below depletion
    assert 1.75 < leakage_temperature_factor(27.0) < 2.1  # ~x2 per 7-8 °C near room temperature
    assert 1 / 70 < leakage_temperature_factor(-20.0) < 1 / 45  # cold box: ~50x less current


def test_leakage_above_the_limit_trips_and_on_is_refused_until_reset() -> None:
    clock = ManualClock()
    hv = make(clock, kind="hv", seed=1, ramp_up=100.0)
    send(hv, "/hv/cmd/setv/0", "300")
    send(hv, "/hv/cmd/switch/0", "on")
    channel(hv)
    clock.advance(3)
    assert channel(hv)["state"] == "on"
    send(hv, "/hv/sim/leakage_scale", "100")
    clock.advance(0.1)
    status = channel(hv)
    assert (status["state"], status["on"], status["vmon"]) == ("tripped", 0, 0.0)
    with pytest.raises(CommandRejected) as info:
        send(hv, "/hv/cmd/switch/0", "on")
    assert info.value.reason is Reason.TRIPPED
    send(hv, "/hv/cmd/reset/0", "")
    assert channel(hv)["state"] == "off"


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("/hv/cmd/setv/0", "1000.1", Reason.OUT_OF_RANGE),
        ("/hv/cmd/setv/0", "-1", Reason.OUT_OF_RANGE),
        ("/hv/cmd/seti/0", "0.001", Reason.OUT_OF_RANGE),
        ("/hv/cmd/rampup/0", "0", Reason.OUT_OF_RANGE),
        ("/hv/cmd/rampup/0", "51", Reason.OUT_OF_RANGE),
        ("/hv/cmd/setv/1", "10", Reason.UNKNOWN_CHANNEL),
        ("/hv/cmd/fly/0", "10", Reason.UNKNOWN_COMMAND),
        ("/hv/cmd/setv", "10", Reason.BAD_TOPIC),
        ("/hv/sim/trip", "1", Reason.BAD_TOPIC),
    ],
)
def test_requests_over_a_limit_are_rejected_not_clipped(topic: str, payload: str, reason: Reason) -> None:
    hv = make(ManualClock(), kind="hv")
    send(hv, "/hv/cmd/setv/0", "50")
    with pytest.raises(CommandRejected) as info:
        send(hv, topic, payload)
    assert info.value.reason is reason
    assert channel(hv)["vreq"] == 50.0
    assert isinstance(hv, PowerSupply) and hv.settings[0].ramp_up == 10.0


def test_lv_module_load_draws_constant_power_and_trips_over_its_limit() -> None:
    clock = ManualClock()
    lv = make(clock, kind="lv", seed=2, sim={"noise": 0.0})
    send(lv, "/lv/cmd/setv/0", "10")
    send(lv, "/lv/cmd/switch/0", "on")
    channel(lv)
    clock.advance(2)
    at_10 = channel(lv)["imon"]
    send(lv, "/lv/cmd/setv/0", "12")
    clock.advance(2)
    at_12 = channel(lv)["imon"]
    assert at_10 == pytest.approx(5 / 10 + 10 / 1000)
    assert at_12 == pytest.approx(5 / 12 + 12 / 1000)
    send(lv, "/lv/sim/load_power", "100")
    clock.advance(0.1)
    assert channel(lv)["state"] == "tripped"


@pytest.mark.parametrize(
    ("t", "rh", "expected"), [(20.0, 50.0, 9.26), (25.0, 60.0, 16.69), (0.0, 100.0, 0.0)]
)
def test_dew_point_by_the_magnus_formula(t: float, rh: float, expected: float) -> None:
    assert dew_point(t, rh) == pytest.approx(expected, abs=0.05)


def test_environment_steering_and_bounded_drift() -> None:
    clock = ManualClock()
    env = make(clock, kind="env", seed=5)
    send(env, "/env/sim/humidity", "95")
    body = env.read().body
    assert isinstance(body, dict)
    assert body["humidity"] == pytest.approx(95, abs=1)
    assert body["dewpoint"] == pytest.approx(dew_point(body["temperature"], body["humidity"]), abs=0.01)
    for _ in range(2000):
        clock.advance(10)
        body = env.read().body
        assert isinstance(body, dict)
        assert 0.0 <= body["humidity"] <= 100.0
        assert abs(body["temperature"] - 20.0) < 5


def test_relay_and_dummy_sensor() -> None:
    clock = ManualClock()
    relay = make(clock, kind="relay", channels=2)
    send(relay, "/relay/cmd/switch/1", "on")
    assert relay.read().body == [{"number": 0, "on": 0}, {"number": 1, "on": 1}]
    dummy = make(clock, kind="dummy")
    clock.advance(15)  # a quarter of the 60 s period
    assert dummy.read().body == {"meas1": pytest.approx(1.0), "meas2": pytest.approx(-1.0)}


def test_meta_lists_commands_and_simulator_parameters() -> None:
    meta = make(ManualClock(), kind="hv").meta()
    assert meta.commands == ["rampdown", "rampup", "reset", "seti", "setv", "switch"]
    assert "leakage_scale" in meta.sim_parameters
    assert meta.limits["vreq"] == {"min": 0.0, "max": 1000.0}
