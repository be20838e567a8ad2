"""A console for one stand: its state, its MQTT hub, its users, served by uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from trackerdcs.archive.url import ArchiveTarget
from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.services.console.app import create_app
from trackerdcs.services.console.commands import Commands
from trackerdcs.services.console.context import Console
from trackerdcs.services.console.feed import Feed
from trackerdcs.services.console.hub import Hub
from trackerdcs.services.console.reading import History, Runs
from trackerdcs.services.console.settings import USERS_FILE
from trackerdcs.services.console.state import Layout, StandState
from trackerdcs.services.console.users import Role, User, Users
from trackerdcs.stand import Stand
from trackerdcs.stand.archive import stand_data_dir

log = logging.getLogger(__name__)

GRACE_S = 2  # open websockets get this long to close on a stop


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    forwarded_allow_ips: str = "127.0.0.1"  # whose X-Forwarded-* headers to believe (the gateway's)
    root_path: str = ""  # the prefix a gateway serves it under, e.g. /console


def layout(stand: Stand) -> Layout:
    return Layout(
        stand=stand.name,
        devices={d.name: d.kind for d in stand.devices},
        modules=frozenset(m.name for m in stand.modules),
        safety=stand.interlock.name if stand.has_safety else None,
        daq=stand.daq.name if stand.daq else None,
        calibrations=tuple(stand.daq.calibrations) if stand.daq else (),
    )


def build_console(
    stand: Stand,
    broker: BrokerSettings,
    data_dir: Path,
    archive: ArchiveTarget,
    users_file: Path | None = None,
    local_token: str | None = None,
) -> Console:
    state = StandState(layout(stand))
    hub = Hub(broker, stand.console.name, state)
    feed = Feed(state, stand.console.update_period)
    daq = stand.daq
    runs = Runs(daq.store, stand_data_dir(data_dir, stand.name), daq.store_secret_file) if daq else None
    return Console(
        config=stand.console,
        state=state,
        hub=hub,
        feed=feed,
        commands=Commands(hub, state, stand.console, hub.clock),
        users=Users(users_file or data_dir / USERS_FILE),
        history=History(archive),
        runs=runs,
        local_token=local_token,
        local_user=User(getpass.getuser(), Role.EXPERT) if local_token else None,
    )


class _Server(uvicorn.Server):
    """uvicorn, minus its signal handling: the CLI's run_async owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(console: Console, options: ServeOptions) -> None:
    """Serve until cancelled; then close gracefully (websockets get GRACE_S).

    The caller checks the port first (:func:`~trackerdcs.services.console.settings.check_port`),
    to stop with a clear message before anything starts.
    """
    config = uvicorn.Config(
        create_app(console),
        host=options.host,
        port=options.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=options.forwarded_allow_ips,
        root_path=options.root_path,
        timeout_graceful_shutdown=GRACE_S,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        await task
        raise
    log.info("console: stopped serving")
