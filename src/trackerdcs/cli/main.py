"""Entry point of ``dcs``."""

from __future__ import annotations

from collections.abc import Sequence

import click

from trackerdcs import __version__
from trackerdcs.cli import archive, daq, deploy, operate, run, runs, safety, web


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dcs")
def cli() -> None:
    """Tracker DCS: slow control for silicon-tracker test stands."""


run.register(cli)
operate.register(cli)
safety.register(cli)
archive.register(cli)
deploy.register(cli)
daq.register(cli)
runs.register(cli)
web.register(cli)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="dcs")
