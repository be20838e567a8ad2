"""Build the DAQ service from a stand file: its run store, archive and working directory."""

from __future__ import annotations

from pathlib import Path

from trackerdcs.archive.backend import Backend
from trackerdcs.archive.open import open_backend
from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.runstore.open import StoreUrlError, open_store
from trackerdcs.runstore.outbox import Outbox
from trackerdcs.services.daq.completion import Completion
from trackerdcs.services.daq.service import DaqService
from trackerdcs.stand import Stand, StandError
from trackerdcs.stand.archive import archive_target, stand_data_dir


def daq_workdir(stand: Stand, data_dir: Path) -> Path:
    """Where Ph2_ACF runs: ``[daq] workdir``, else ``ph2acf/`` in the stand's data directory."""
    assert stand.daq is not None
    return stand.daq.workdir or stand_data_dir(data_dir, stand.name) / "ph2acf"


def daq_service(
    stand: Stand, broker: BrokerSettings, data_dir: Path, archive_url: str | None = None
) -> DaqService:
    if stand.daq is None:
        raise StandError(f"{stand.source}: no [daq] table: the stand runs no DAQ")
    home = stand_data_dir(data_dir, stand.name)
    try:
        store = open_store(stand.daq.store, home, stand.daq.store_secret_file)
    except StoreUrlError as exc:
        raise StandError(f"{stand.source}: daq.{exc}") from None
    target = archive_target(stand.archive, home, archive_url)

    def archive() -> Backend:
        return open_backend(target)

    workdir = daq_workdir(stand, data_dir)
    workdir.mkdir(parents=True, exist_ok=True)
    outbox = Outbox(store, home / "daq-outbox")
    return DaqService(stand, broker, outbox, Completion(stand, workdir, archive), workdir)
