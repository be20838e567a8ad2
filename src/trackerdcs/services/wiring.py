"""Build services from a stand file: the one place that knows how the pieces connect."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from trackerdcs.contract.topics import InterlockTopics
from trackerdcs.devices.clock import SystemClock
from trackerdcs.devices.registry import create_device
from trackerdcs.services.device_service import DeviceService
from trackerdcs.services.guard import Guard
from trackerdcs.services.mqtt import BrokerSettings
from trackerdcs.services.safety_service import SafetyService
from trackerdcs.services.stand import Stand, StandError

if TYPE_CHECKING:
    from trackerdcs.services.notify import Notifier


def guard_for(stand: Stand, name: str) -> Guard | None:
    """The guard of device ``name``, or None when nothing in the stand guards it."""
    config = stand.device(name)
    if not stand.has_safety and not config.require_heartbeat:
        return None
    interlock = InterlockTopics(stand.interlock.name) if stand.rules or config.require_heartbeat else None
    return Guard(name, stand.module_map(), interlock, config.require_heartbeat, time.monotonic)


def device_service(stand: Stand, name: str, broker: BrokerSettings) -> DeviceService:
    device = create_device(stand.device(name), SystemClock())
    return DeviceService(device, broker, buffer=stand.broker.buffer, guard=guard_for(stand, name))


def notifier_for(stand: Stand) -> Notifier | None:
    """The stand's notifier; apprise is imported only by stands that notify (it is slow to load)."""
    config = stand.interlock
    urls = list(config.notify)
    if config.notify_secrets_file:
        path = Path(config.notify_secrets_file)
        try:
            urls += [
                line.strip()
                for line in path.read_text().splitlines()
                if line.strip() and not line.startswith("#")
            ]
        except OSError as exc:
            raise StandError(
                f"{stand.source}: interlock.notify_secrets_file: cannot read {path}: {exc.strerror}"
            ) from None
    if not urls:
        return None
    from trackerdcs.services.notify import Notifier

    try:
        return Notifier(
            urls,
            min_interval=config.notify_interval,
            burst=config.notify_burst,
            per_minute=config.notify_per_minute,
        )
    except ValueError as exc:
        raise StandError(f"{stand.source}: interlock.notify: {exc}") from None


def safety_service(stand: Stand, broker: BrokerSettings) -> SafetyService:
    return SafetyService(stand, broker, notifier_for(stand))
