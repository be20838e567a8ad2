"""A whole `dcs up` with its console on free loopback ports, for the console's API and browser tests."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import dcs_argv, free_port
from tests.supervisor.test_stack import Proc

URL_RE = re.compile(r"console\s+(http://\S+/login\?token=\S+)")


@dataclass
class ConsoleStack:
    proc: Proc
    data_dir: Path
    mqtt_port: int
    web_port: int
    login_url: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.web_port}/"

    @property
    def broker_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.mqtt_port}"

    @property
    def token(self) -> str:
        return self.login_url.rsplit("token=", 1)[1]

    def add_user(self, name: str, role: str, password: str) -> None:
        """`dcs web adduser`, password on stdin, into the users file this console reads."""
        argv = dcs_argv("web", "adduser", name, "--role", role, "--data-dir", str(self.data_dir))
        subprocess.run(argv, input=password + "\n", text=True, check=True, capture_output=True)


@contextlib.contextmanager
def console_stack(tmp: Path, stand: str | None = None) -> Iterator[ConsoleStack]:
    """`dcs up` (the demo stand, or ``stand``) with its console; stopped with Ctrl-C at the end."""
    data, mqtt, web = tmp / "data", free_port(), free_port()
    argv = dcs_argv("up", "--mqtt-port", str(mqtt), "--web-port", str(web), "--data-dir", str(data))
    if stand is not None:
        (tmp / "stand.toml").write_text(stand)
        argv += ["--config", str(tmp / "stand.toml")]
    proc = Proc(argv)
    try:
        proc.wait_output("login?token=")
        proc.wait_output("Press Ctrl-C")
        found = URL_RE.search(proc.output)
        assert found, proc.output
        yield ConsoleStack(proc, data, mqtt, web, found.group(1))
    finally:
        proc.stop(signal.SIGINT)
