"""A real InfluxDB 1.x server on free loopback ports, with its own data directory."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import end_process, free_port, wait_until

CONFIG = """\
reporting-enabled = false
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{dir}/meta"
[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "10s"
[http]
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
  max-body-size = 0
[monitor]
  store-enabled = false
[logging]
  level = "warn"
[continuous_queries]
  enabled = false
"""


def influxd() -> str | None:
    return shutil.which("influxd") or next(
        (p for p in ("/usr/bin/influxd", "/usr/sbin/influxd") if Path(p).exists()), None
    )


@dataclass
class InfluxProcess:
    """``influxd`` on free ports; tests may stop and start it again on the same data."""

    workdir: Path
    port: int = field(default_factory=free_port)
    rpc_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    auth: bool = False  # HTTP authentication on, as the deployed InfluxDB runs

    def url(self, database: str = "dcs") -> str:
        return f"influxdb://127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        binary = influxd()
        if binary is None:
            raise RuntimeError("influxd is not installed: run `make test`, which installs it")
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "influxdb.conf"
        text = CONFIG.format(rpc=self.rpc_port, dir=self.workdir, port=self.port)
        if self.auth:
            text = text.replace("[http]\n", "[http]\n  auth-enabled = true\n")
        conf.write_text(text)
        log = (self.workdir / "influxd.log").open("ab")
        # as the generated deployment runs it (trackerdcs.deploy.compose): GOGC=400
        env = {**os.environ, "GOGC": os.environ.get("GOGC", "400")}
        self.proc = subprocess.Popen(
            [binary, "-config", str(conf)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        wait_until(self.ready, what=f"influxd on port {self.port}")

    def ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"influxd exited with {self.proc.returncode}: see {self.workdir}/influxd.log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ping", timeout=1) as response:
                return bool(response.status == 204)
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None:
            end_process(self.proc, sig)
            self.proc = None
