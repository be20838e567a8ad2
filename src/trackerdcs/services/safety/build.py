"""Build the safety service from a stand file: its rules, modules and notifier."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.services.safety.service import SafetyService
from trackerdcs.stand import Stand, StandError
from trackerdcs.stand.archive import stand_data_dir

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


def alarm_book_path(stand: Stand, data_dir: Path) -> Path:
    """Where the stand's alarm book is kept: beside its archive and spool."""
    return stand_data_dir(data_dir, stand.name) / "alarms.json"


def safety_service(stand: Stand, broker: BrokerSettings, data_dir: Path | None = None) -> SafetyService:
    """The service; with ``data_dir`` its alarm book survives restarts (else it lives in memory)."""
    book = alarm_book_path(stand, data_dir) if data_dir is not None else None
    return SafetyService(stand, broker, notifier_for(stand), book=book)
