"""Build a device service from a stand file: its device, its guard, its broker."""

from __future__ import annotations

import time

from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.contract.topics import InterlockTopics
from trackerdcs.devices.clock import SystemClock
from trackerdcs.devices.registry import create_device
from trackerdcs.services.device.guard import Guard
from trackerdcs.services.device.schedule import phase_of
from trackerdcs.services.device.service import DeviceService
from trackerdcs.stand import Stand


def guard_for(stand: Stand, name: str) -> Guard | None:
    """The guard of device ``name``, or None when nothing in the stand guards it."""
    config = stand.device(name)
    if not stand.has_safety and not config.require_heartbeat:
        return None
    interlock = InterlockTopics(stand.interlock.name) if stand.rules or config.require_heartbeat else None
    return Guard(name, stand.module_map(), interlock, config.require_heartbeat, time.monotonic)


def device_service(stand: Stand, name: str, broker: BrokerSettings) -> DeviceService:
    config = stand.device(name)
    names = [d.name for d in stand.devices]
    phase = phase_of(names.index(name), len(names), config.period)  # the same in every process
    device = create_device(config, SystemClock())
    guard = guard_for(stand, name)
    return DeviceService(device, broker, buffer=stand.broker.buffer, guard=guard, phase=phase)
