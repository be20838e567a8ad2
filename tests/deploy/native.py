"""The deployment's own services run natively, as compose would run them: every `dcs`
command of the compose files with its per-service MQTT account, against the generated
mosquitto and a real InfluxDB, container paths, hosts and ports mapped onto this machine."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.deploying import COMPOSE_FILES, SecureBroker, compose, env_file
from tests.helpers import TIMEOUT, dcs_argv, end_process, free_port
from tests.influx import InfluxProcess
from trackerdcs.deploy import images as im
from trackerdcs.deploy.mosquitto import INTERNAL_PORT

LOOPBACK = "127.0.0.1"


@dataclass
class NativeStack:
    out: Path
    broker: SecureBroker
    influx: InfluxProcess
    logs: Path
    ports: dict[str, int] = field(default_factory=dict)  # service → the port it listens on here
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log(self, service: str) -> str:
        return (self.logs / f"{service}.log").read_text(errors="replace")[-4000:]


def container_paths(service: dict[str, Any], out: Path, data: Path) -> dict[str, str]:
    """The service's bind mounts as paths under ``out``; its named volumes under ``data``."""
    mapping: dict[str, str] = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        mapping[target] = str(out / source) if source.startswith("./") else str(data)
    mapping.setdefault(im.DATA_IN_CONTAINER, str(data))
    return mapping


def native_argv(
    command: list[str], paths: dict[str, str], broker: SecureBroker, influx: InfluxProcess, port: int
) -> list[str]:
    """A compose command with the container's hosts, paths and listening address mapped here."""
    mapping = {
        **paths,
        f"@mosquitto:{INTERNAL_PORT}": f"@{LOOPBACK}:{broker.internal}",
        "@influxdb:8086": f"@{LOOPBACK}:{influx.port}",
    }
    listen = {"--host": LOOPBACK, "--port": str(port)}
    argv: list[str] = []
    for arg in command[1:]:
        if argv and argv[-1] in listen:
            arg = listen[argv[-1]]
        for container, here in mapping.items():
            arg = arg.replace(container, here)
        argv.append(arg)
    return dcs_argv(*argv)


def native_env(service: dict[str, Any], secrets: dict[str, str], paths: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in service.get("environment", {}).items():
        if value.startswith("${"):
            value = secrets[value[2:-1]]
        for container, here in paths.items():
            value = value.replace(container, here)
        env[key] = value
    return env


def basic_auth(user: tuple[str, str] | None) -> dict[str, str]:
    if user is None:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()}


def post(influx: InfluxProcess, statement: str, user: tuple[str, str] | None) -> None:
    body = urllib.parse.urlencode({"q": statement}).encode()
    request = urllib.request.Request(f"http://{LOOPBACK}:{influx.port}/query", body, basic_auth(user))
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        assert "error" not in json.loads(response.read())["results"][0], statement


def init_influx(influx: InfluxProcess, env: dict[str, str]) -> None:
    """What the influxdb:1.8 image's init script does with the compose file's INFLUXDB_* variables."""
    db, admin = env["INFLUXDB_DB"], (env["INFLUXDB_ADMIN_USER"], env["INFLUXDB_ADMIN_PASSWORD"])
    post(influx, f"CREATE USER {admin[0]} WITH PASSWORD '{admin[1]}' WITH ALL PRIVILEGES", None)
    post(influx, f"CREATE DATABASE {db}", admin)
    for role in ("WRITE", "READ"):
        user, password = env[f"INFLUXDB_{role}_USER"], env[f"INFLUXDB_{role}_USER_PASSWORD"]
        post(influx, f"CREATE USER {user} WITH PASSWORD '{password}'", admin)
        post(influx, f"GRANT {role} ON {db} TO {user}", admin)


def dcs_services(out: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for name in COMPOSE_FILES:
        for service_name, service in compose(out, name).get("services", {}).items():
            command = service.get("command")
            if command and command[0] == "dcs":
                yield service_name, service


@contextlib.contextmanager
def native_stack(out: Path, tmp: pytest.TempPathFactory) -> Iterator[NativeStack]:
    """Every `dcs` service of the deployment in ``out`` (written already), running here."""
    broker = SecureBroker(out)
    influx = InfluxProcess(tmp.mktemp("influxdb"), auth=True)
    stack = NativeStack(out, broker, influx, tmp.mktemp("logs"))
    secrets = env_file(out)
    try:
        broker.start(tmp.mktemp("mosquitto"))
        influx.start()
        init_influx(influx, native_env(compose(out)["services"]["influxdb"], secrets, {}))
        for name, service in dcs_services(out):
            paths = container_paths(service, out, tmp.mktemp(name))
            port = stack.ports.setdefault(name, free_port())
            argv = native_argv(service["command"], paths, broker, influx, port)
            log = (stack.logs / f"{name}.log").open("wb")
            env = native_env(service, secrets, paths)
            stack.procs[name] = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        yield stack
    finally:
        for proc in stack.procs.values():
            end_process(proc)
        influx.stop()
        broker.stop()
