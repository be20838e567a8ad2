"""What the CLI and the supervisor need of the console without loading it (FastAPI, uvicorn).

Every service process loads the CLI, so this module imports nothing heavy.
"""

from __future__ import annotations

import socket

USERS_FILE = "console-users.json"
TOKEN_ENV = "DCS_CONSOLE_TOKEN"  # how `dcs up` hands its console the login token (not argv: ps shows that)


class PortInUse(OSError):
    """The console's port is taken; the text says which and what to do."""


def check_port(host: str, port: int) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortInUse(
                f"the console's port {port} on {host} is in use ({exc.strerror}): "
                "choose another with --web-port, or turn the console off with --no-web"
            ) from None
