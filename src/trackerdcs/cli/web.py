"""``dcs web run`` and ``dcs web adduser``: the browser console and its users."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path

import click

from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.cli.archive import ARCHIVE_OPTION, DATA_OPTION, target_or_exit
from trackerdcs.cli.common import (
    broker_or_exit,
    common_options,
    fail,
    run_async,
    setup_logging,
    stand_or_exit,
)
from trackerdcs.cli.runs import STORE_OPTION, override_store
from trackerdcs.services.console.settings import TOKEN_ENV, USERS_FILE, PortInUse, check_port
from trackerdcs.services.console.users import Role, Users, UsersError

log = logging.getLogger(__name__)

USERS_OPTION = click.option(
    "--users",
    "users_file",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="DCS_CONSOLE_USERS",
    help=f"The users file (default: {USERS_FILE} in the data directory).",
)


def register(cli: click.Group) -> None:
    cli.add_command(web)


@click.group()
def web() -> None:
    """The browser console: the stand's state, controls, alarms, plots and runs."""


@web.command("run")
@common_options
@ARCHIVE_OPTION
@DATA_OPTION
@USERS_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--forwarded-allow-ips",
    default="127.0.0.1",
    show_default=True,
    help="Gateways whose X-Forwarded-* to trust.",
)
@STORE_OPTION
@click.option("--root-path", default="", help="The prefix a gateway serves the console under, e.g. /console.")
@click.option(
    "--local-login/--no-local-login",
    default=True,
    show_default=True,
    help=f"Log in the local user with a token URL (from {TOKEN_ENV}, else a new one, logged).",
)
def web_run(
    config: Path | None,
    broker_url: str | None,
    verbose: int,
    quiet: int,
    archive_url: str | None,
    data_dir: Path,
    users_file: Path | None,
    host: str,
    port: int,
    forwarded_allow_ips: str,
    store: str | None,
    root_path: str,
    local_login: bool,
) -> None:
    """Serve the console alone (what a container runs; `dcs up` starts it by itself)."""
    setup_logging(verbose, quiet)
    if verbose == 0:  # uvicorn's start-up chatter; its errors still show
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    stand = stand_or_exit(config)
    settings = broker_or_exit(broker_url, None) if broker_url else stand.broker_settings(BrokerSettings())
    target = target_or_exit(stand, data_dir, archive_url)
    override_store(stand, store)  # what the runs page reads
    # Imported here: FastAPI and uvicorn are this command's only, and every service loads the CLI.
    from trackerdcs.services.console.build import ServeOptions, build_console, serve

    token = (os.environ.get(TOKEN_ENV) or secrets.token_urlsafe(24)) if local_login else None
    try:
        console = build_console(stand, settings, data_dir, target, users_file, token)
        check_port(host, port)
    except (UsersError, PortInUse) as exc:
        raise fail(str(exc)) from None
    if token and TOKEN_ENV not in os.environ:
        log.info("console: log in at http://%s:%d/login?token=%s", host, port, token)
    if not token and not len(console.users):
        log.warning("console: no users in %s yet: add one with `dcs web adduser`", console.users.path)
    log.info("console for stand %s on http://%s:%d/ using broker %s", stand.name, host, port, settings.url)
    run_async(serve(console, ServeOptions(host, port, forwarded_allow_ips, root_path)))


@web.command("adduser")
@click.argument("name")
@click.option(
    "--role", type=click.Choice(["viewer", "operator", "expert"]), default="viewer", show_default=True
)
@USERS_OPTION
@DATA_OPTION
def web_adduser(name: str, role: str, users_file: Path | None, data_dir: Path) -> None:
    """Add user NAME (or change their role and password); the password is read from stdin."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    path = users_file or data_dir / USERS_FILE
    try:
        Users(path).add(name, Role.parse(role), password)
    except UsersError as exc:
        raise fail(str(exc)) from None
    click.echo(f"{path}: {name} is {role}", err=True)
