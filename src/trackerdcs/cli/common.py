"""Options shared by every command, logging set-up and running until a signal."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from trackerdcs.bus.settings import BrokerSettings, BrokerUrlError
from trackerdcs.stand import Stand, StandError, load_stand

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

EXIT_REJECTED, EXIT_USAGE, EXIT_NO_REPLY = 1, 2, 3
BROKER_ENV = "DCS_BROKER"


def setup_logging(verbose: int, quiet: int) -> None:
    level = logging.INFO - 10 * verbose + 10 * quiet
    logging.basicConfig(
        level=max(level, logging.DEBUG),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    if level > logging.DEBUG:
        # amqtt logs every refused MQTT v5 probe as a warning: keep its errors only.
        for noisy in ("amqtt", "transitions"):
            logging.getLogger(noisy).setLevel(max(level, logging.ERROR))


def common_options(f: F) -> F:
    """``--config``, ``--broker``, ``-v`` and ``-q`` on every command."""
    f = click.option("-q", "--quiet", count=True, help="Log less (repeatable).")(f)
    f = click.option("-v", "--verbose", count=True, help="Log more (repeatable).")(f)
    f = click.option(
        "--broker",
        "broker_url",
        envvar=BROKER_ENV,
        metavar="URL",
        help=f"Broker, e.g. mqtt://127.0.0.1:1883 (env {BROKER_ENV}; default: the stand's, else localhost).",
    )(f)
    f = click.option(
        "--config",
        "-c",
        "config",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar="DCS_CONFIG",
        help="Stand file (TOML). Default: the built-in demo stand.",
    )(f)
    return f


def fail(message: str, code: int = EXIT_USAGE) -> click.exceptions.Exit:
    click.echo(f"dcs: {message}", err=True)
    return click.exceptions.Exit(code)


def stand_or_exit(config: Path | None) -> Stand:
    try:
        return load_stand(config)
    except StandError as exc:
        raise fail(str(exc)) from None


def broker_or_exit(broker_url: str | None, config: Path | None) -> BrokerSettings:
    """``--broker`` if given, else the stand file's broker, else localhost:1883."""
    try:
        if broker_url:
            settings = BrokerSettings.from_url(broker_url)
            password = os.environ.get("DCS_MQTT_PASSWORD")
            return settings.with_credentials(None, password)
        if config is not None:
            return stand_or_exit(config).broker_settings(BrokerSettings())
    except (BrokerUrlError, StandError) as exc:
        raise fail(str(exc)) from None
    return BrokerSettings()


# With Python's (700, 10, 10), the safety service of a 10,240-channel stand made a full
# collection every 2.5 s, 6.5 ms on average, and trips met them and its middle ones. Ten
# times fewer young collections, and a full one after 100 middle ones, not 10: the
# interlock's p99 over 60 trips went from 22-29 ms to 15-16 ms (docs/decisions/0036). What
# its reference count does not free waits longer for the collector; memory stayed the same.
GC_THRESHOLDS = (7_000, 10, 100)


def run_async(main: Coroutine[Any, Any, T]) -> T | None:
    """Run ``main``; SIGINT and SIGTERM cancel it cleanly (None is returned then).

    What exists by now (imports, the stand, the service built from it) lives as long as
    the process: frozen out of the garbage collector's reach. At 5,120 modules the
    safety service's full collections took 60 ms each, several in an interlock trip.
    Then the collector runs less often (GC_THRESHOLDS).
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)

    async def runner() -> T | None:
        task = asyncio.ensure_future(main)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            return await task
        except asyncio.CancelledError:
            return None

    return asyncio.run(runner())
