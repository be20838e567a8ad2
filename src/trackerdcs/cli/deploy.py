"""``dcs deploy``: write a production stack (compose files, broker, Grafana, secrets) for a stand."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from trackerdcs.cli.common import fail, setup_logging, stand_or_exit

log = logging.getLogger(__name__)


def register(cli: click.Group) -> None:
    cli.add_command(deploy)


@click.command()
@click.option(
    "--config",
    "-c",
    "config",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    envvar="DCS_CONFIG",
    help="Stand file (TOML). Default: the built-in demo stand.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory to write the deployment into (keep it out of git).",
)
@click.option(
    "--regenerate-secrets",
    is_flag=True,
    help="Make new passwords, keys and certificates (running services must then be recreated).",
)
@click.option("-v", "--verbose", count=True, help="Log more (repeatable).")
@click.option("-q", "--quiet", count=True, help="Log less (repeatable).")
def deploy(config: Path | None, out: Path, regenerate_secrets: bool, verbose: int, quiet: int) -> None:
    """Write the docker compose deployment of a stand into OUT (secrets are never printed)."""
    # Imported here, not at the top: every service process loads the CLI, and the
    # generators (yaml, cryptography, bcrypt) are only this command's.
    from trackerdcs.deploy.writer import COMPOSE_FILES
    from trackerdcs.deploy.writer import deploy as write_deployment

    setup_logging(verbose, quiet)
    stand = stand_or_exit(config)
    text = config.read_text() if config is not None else None
    try:
        done = write_deployment(stand, out, regenerate=regenerate_secrets, stand_text=text)
    except (OSError, ValueError) as exc:
        raise fail(f"deploy: {exc}") from None
    click.echo(f"dcs deploy: stand {stand.name!r} written to {out}")
    click.echo(f"  {len(done.accounts)} MQTT accounts; secrets in {out / 'secrets'} and {out / '.env'}")
    if done.missing:
        click.echo(f"  not written (generator not installed): {', '.join(done.missing)}", err=True)
    files = " ".join(f"-f {name}" for name in COMPOSE_FILES)
    click.echo(f"Start it with:  cd {out} && docker compose {files} up -d")
