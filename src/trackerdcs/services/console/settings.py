"""What the CLI and the supervisor need of the console without loading it (FastAPI, uvicorn).

Every service process loads the CLI, so this module imports nothing heavy.
"""

from __future__ import annotations

from trackerdcs.bus.broker import port_taken

USERS_FILE = "console-users.json"
TOKEN_ENV = "DCS_CONSOLE_TOKEN"  # how `dcs up` hands its console the login token (not argv: ps shows that)


class PortInUse(OSError):
    """The console's port is taken; the text says which and what to do."""


def check_port(host: str, port: int) -> None:
    if (why := port_taken(host, port)) is not None:
        raise PortInUse(
            f"the console's port {port} on {host} is in use ({why}): "
            "choose another with --web-port, or turn the console off with --no-web"
        )
