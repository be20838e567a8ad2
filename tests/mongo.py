"""A real MongoDB-compatible server for the run store's tests: SecantusDB (PyPI ``secantusdb``),
which speaks MongoDB's wire protocol on WiredTiger, on a free loopback port with its own data."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import end_process, free_port, port_open, wait_until


def secantus_binary() -> str:
    found = shutil.which("secantusd-py") or str(Path(sys.executable).parent / "secantusd-py")
    if not Path(found).exists():
        raise RuntimeError("secantusdb is not installed: `pip install -e '.[dev]'` (make test) installs it")
    return found


@dataclass
class MongoProcess:
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/trackerdcs"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [secantus_binary(), "--host", "127.0.0.1", "--port", str(self.port)]
        argv += ["--storage-path", str(self.workdir / "data"), "--log-level", "WARNING"]
        log = (self.workdir / "secantus.log").open("ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: port_open(self.port), timeout=60, what=f"SecantusDB on port {self.port}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        end_process(self.proc, sig)
        self.proc = None
        wait_until(lambda: not port_open(self.port), what="the SecantusDB port to close")
