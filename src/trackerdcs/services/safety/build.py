"""Build the safety service from a stand file: its rules, modules and notifier."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.services.safety.service import SafetyService
from trackerdcs.stand import Stand, StandError

if TYPE_CHECKING:
    from trackerdcs.services.safety.notify import Notifier


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
    from trackerdcs.services.safety.notify import Notifier

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
