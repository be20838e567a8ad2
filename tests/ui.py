"""Helpers of the UI tests: the generated Node-RED and nginx, run natively on loopback."""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.helpers import end_process, free_port, port_open, wait_until
from trackerdcs.deploy.console import UPSTREAM as CONSOLE_UPSTREAM
from trackerdcs.deploy.gateway import GRAFANA_UPSTREAM, NODERED_UPSTREAM
from trackerdcs.deploy.nodered_settings import HOST_ENV, PORT_ENV

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / ".cache" / "nodered" / "node_modules"
NODE_RED = NODE_MODULES / "node-red" / "red.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
INSTALL_HINT = "run `make services` (scripts/ensure-ui-tools.sh) to install Node-RED, nginx and chromium"


def find_nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise RuntimeError(f"nginx is not installed: {INSTALL_HINT}")
    return found


def self_signed(folder: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A throw-away certificate and key for ``name`` (and 127.0.0.1)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    alt = x509.SubjectAlternativeName([x509.DNSName(name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(alt, critical=False)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "gateway.crt", folder / "gateway.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def rewrite_nginx(
    text: str, workdir: Path, http: int, https: int, nodered: int, grafana: int, console: int | None = None
) -> str:
    """The generated configuration with loopback ports and a private pid file, for a native nginx.

    Every upstream gets a loopback port (nginx resolves them at start): ``console`` a free
    one where nothing listens unless given.
    """
    replacements = {
        "listen 80 default_server;": f"listen 127.0.0.1:{http} default_server;",
        "listen 443 ssl http2 default_server;": f"listen 127.0.0.1:{https} ssl http2 default_server;",
        "listen [::]:80 default_server;": "",
        "listen [::]:443 ssl http2 default_server;": "",
        "pid /tmp/nginx.pid;": f"pid {workdir / 'nginx.pid'};",
        "access_log /dev/stdout;": f"access_log {workdir / 'access.log'};",
        f"server {NODERED_UPSTREAM};": f"server 127.0.0.1:{nodered};",
        f"server {GRAFANA_UPSTREAM};": f"server 127.0.0.1:{grafana};",
        f"server {CONSOLE_UPSTREAM};": f"server 127.0.0.1:{console or free_port()};",
        "return 301 https://$host$request_uri;": f"return 301 https://$host:{https}$request_uri;",
    }
    for old, new in replacements.items():
        assert old in text, f"the generated nginx.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


@dataclass
class Service:
    """A subprocess with its log, stopped by its own pid."""

    name: str
    argv: list[str]
    workdir: Path
    env: dict[str, str] | None = None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.workdir / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        wait_until(
            lambda: port_open(self.port) or self.proc is None or self.proc.poll() is not None,
            timeout=60,
            what=f"{self.name} on port {self.port}",
        )
        assert self.proc.poll() is None, f"{self.name} exited: {self.log()}"

    def log(self) -> str:
        path = self.workdir / f"{self.name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            end_process(self.proc)
            self.proc = None


def node_red(userdir: Path, port: int) -> Service:
    """Node-RED 4 from the project-local install, with the generated settings, on loopback."""
    if not NODE_RED.exists():
        raise RuntimeError(f"Node-RED is not installed: {INSTALL_HINT}")
    env = {**os.environ, HOST_ENV: "127.0.0.1", PORT_ENV: str(port)}
    argv = ["node", str(NODE_RED), "-u", str(userdir), "-s", str(userdir / "settings.js")]
    return Service("node-red", argv, userdir, env=env, port=port)


def nginx(conf: Path, workdir: Path, port: int) -> Service:
    argv = [find_nginx(), "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"]
    return Service("nginx", argv, workdir, port=port)


@contextlib.contextmanager
def running(service: Service) -> Iterator[Service]:
    service.start()
    try:
        yield service
    finally:
        service.stop()
