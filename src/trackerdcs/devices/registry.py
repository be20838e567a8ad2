"""Which class drives a device of a given kind and driver.

Adding an instrument means a driver module and a line in :data:`DRIVERS`; the device
service, topics, limits and replies stay as they are.
"""

from __future__ import annotations

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


DRIVERS: dict[tuple[str, str], Factory] = {
    ("hv", "sim"): _sim_hv,
    ("lv", "sim"): _sim_lv,
    ("env", "sim"): SimulatedEnvironment,
    ("relay", "sim"): SimulatedRelay,
    ("dummy", "sim"): DummySensor,
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
