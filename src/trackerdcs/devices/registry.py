"""Which class drives a device of a given kind and driver.

Adding an instrument means a driver module and a line in :data:`DRIVERS`; the device
service, topics, limits and replies stay as they are.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from trackerdcs.devices.base import Device
from trackerdcs.devices.clock import Clock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.sim.environment import SimulatedEnvironment
from trackerdcs.devices.sim.hv import SimulatedHV
from trackerdcs.devices.sim.lv import SimulatedLV
from trackerdcs.devices.sim.simple import DummySensor, SimulatedRelay
from trackerdcs.devices.supply import PowerSupply

Factory = Callable[[DeviceConfig, Clock], Device]


def _sim_hv(config: DeviceConfig, clock: Clock) -> Device:
    return PowerSupply(config, clock, SimulatedHV(config.channels, config.sim, config.seed))


def _sim_lv(config: DeviceConfig, clock: Clock) -> Device:
    return PowerSupply(config, clock, SimulatedLV(config.channels, config.sim, config.seed))


def _hardware(module: str) -> Factory:
    """A hardware driver, imported only when a stand uses it (pymeasure and pyvisa load slowly).

    Each module in :mod:`trackerdcs.devices.drivers` exposes ``create(config, clock)``.
    """

    def factory(config: DeviceConfig, clock: Clock) -> Device:
        driver = importlib.import_module(f"trackerdcs.devices.drivers.{module}")
        device: Device = driver.create(config, clock)
        return device

    return factory


DRIVERS: dict[tuple[str, str], Factory] = {
    ("hv", "sim"): _sim_hv,
    ("lv", "sim"): _sim_lv,
    ("env", "sim"): SimulatedEnvironment,
    ("relay", "sim"): SimulatedRelay,
    ("dummy", "sim"): DummySensor,
    ("lv", "hmp4040"): _hardware("hmp4040"),
    ("hv", "keithley2410"): _hardware("keithley2410"),
    ("hv", "caen_n1470"): _hardware("caen_n1470"),
    ("env", "dht"): _hardware("dht"),
    ("chiller", "julabo"): _hardware("julabo"),
}


def drivers_for(kind: str) -> list[str]:
    return sorted(driver for k, driver in DRIVERS if k == kind)


def create_device(config: DeviceConfig, clock: Clock) -> Device:
    """Build the device a configuration describes; raise ``KeyError`` for an unknown driver."""
    factory = DRIVERS.get((config.kind, config.driver))
    if factory is None:
        known = ", ".join(drivers_for(config.kind)) or "none"
        raise KeyError(f"no driver {config.driver!r} for kind {config.kind!r} (known: {known})")
    return factory(config, clock)
