"""The deployment's own services, run natively as compose would run them: every `dcs`
command of the compose files, with their per-service MQTT accounts, against the
generated mosquitto and a real InfluxDB. Then every query of the generated Grafana
dashboard must return data (Grafana itself cannot be installed here)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploying import COMPOSE_FILES, SecureBroker, compose, env_file, run_deploy
from tests.helpers import TIMEOUT, dcs_argv, wait_until
from tests.influx import InfluxProcess
from trackerdcs.deploy import images as im
from trackerdcs.deploy.mosquitto import INTERNAL_PORT

pytestmark = pytest.mark.broker

STACK_TIMEOUT = 4 * TIMEOUT  # the archiver's first write, the safety service's first rules
READER: tuple[str, str] = ("", "")  # Grafana's InfluxDB account, set by the fixture


def native_argv(
    command: list[str], out: Path, broker: SecureBroker, influx: InfluxProcess, data: Path
) -> list[str]:
    """A compose command with the container's hosts and paths mapped onto this machine."""
    mapping = {
        im.STAND_IN_CONTAINER: str(out / "stand.toml"),
        im.DATA_IN_CONTAINER: str(data),
        f"@mosquitto:{INTERNAL_PORT}": f"@127.0.0.1:{broker.internal}",
        "@influxdb:8086": f"@127.0.0.1:{influx.port}",
    }
    argv = []
    for arg in command[1:]:
        for container, here in mapping.items():
            arg = arg.replace(container, here)
        argv.append(arg)
    return dcs_argv(*argv)


def native_env(service: dict[str, Any], secrets: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in service.get("environment", {}).items():
        env[key] = secrets[value[2:-1]] if value.startswith("${") else value
    return env


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SecureBroker, InfluxProcess]]:
    out = tmp_path_factory.mktemp("deployment")
    run_deploy(out)
    broker = SecureBroker(out)
    broker.start(tmp_path_factory.mktemp("mosquitto"))
    influx = InfluxProcess(tmp_path_factory.mktemp("influxdb"), auth=True)
    influx.start()
    secrets, procs = env_file(out), []
    influx_env = native_env(compose(out)["services"]["influxdb"], secrets)
    init_influx(influx, influx_env)
    global READER
    READER = (influx_env["INFLUXDB_READ_USER"], influx_env["INFLUXDB_READ_USER_PASSWORD"])
    logs = tmp_path_factory.mktemp("logs")
    try:
        for name in COMPOSE_FILES:
            for service_name, service in compose(out, name).get("services", {}).items():
                command = service.get("command")
                if not command or command[0] != "dcs":
                    continue
                argv = native_argv(command, out, broker, influx, tmp_path_factory.mktemp(service_name))
                log = (logs / f"{service_name}.log").open("w")
                procs.append(subprocess.Popen(argv, env=native_env(service, secrets), stdout=log, stderr=log))
        yield out, broker, influx
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(TIMEOUT)
        influx.stop()
        broker.stop()


def init_influx(influx: InfluxProcess, env: dict[str, str]) -> None:
    """What the influxdb:1.8 image's init script does with the compose file's INFLUXDB_* variables."""
    db, admin = env["INFLUXDB_DB"], (env["INFLUXDB_ADMIN_USER"], env["INFLUXDB_ADMIN_PASSWORD"])
    post(influx, f"CREATE USER {admin[0]} WITH PASSWORD '{admin[1]}' WITH ALL PRIVILEGES", None)
    post(influx, f"CREATE DATABASE {db}", admin)
    for role in ("WRITE", "READ"):
        user, password = env[f"INFLUXDB_{role}_USER"], env[f"INFLUXDB_{role}_USER_PASSWORD"]
        post(influx, f"CREATE USER {user} WITH PASSWORD '{password}'", admin)
        post(influx, f"GRANT {role} ON {db} TO {user}", admin)


def _auth(user: tuple[str, str] | None) -> dict[str, str]:
    if user is None:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()}


def post(influx: InfluxProcess, statement: str, user: tuple[str, str] | None) -> None:
    body = urllib.parse.urlencode({"q": statement}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{influx.port}/query", body, _auth(user))
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        assert "error" not in json.loads(response.read())["results"][0], statement


def influxql(influx: InfluxProcess, query: str) -> list[dict[str, Any]]:
    """A query as Grafana's datasource makes it: as the read-only user."""
    params = urllib.parse.urlencode({"db": "dcs", "q": query})
    url = f"http://127.0.0.1:{influx.port}/query?{params}"
    with urllib.request.urlopen(
        urllib.request.Request(url, None, _auth(READER)), timeout=TIMEOUT
    ) as response:
        results = json.loads(response.read())["results"]
    error = results[0].get("error")
    if error == "database not found: dcs":
        return []  # the archiver has not written yet
    if error:
        raise RuntimeError(f"{query}: {error}")
    return list(results[0].get("series", []))


def grafana_query(query: str) -> str:
    """What Grafana sends for a panel of the last hour."""
    return query.replace("$timeFilter", "time > now() - 1h").replace("$__interval", "1s")


def panel_targets(out: Path) -> list[tuple[str, str]]:
    board = json.loads((out / "grafana/dashboards/stand.json").read_text())
    return [
        (f"{p['title']} {t['refId']}", grafana_query(t["query"]))
        for p in board["panels"]
        for t in p["targets"]
    ]


async def test_every_dashboard_query_returns_data_from_the_deployed_services(stack) -> None:
    out, broker, influx = stack
    # Steer the simulated cold box into condensation risk: the operator account may
    # steer simulators; the safety service raises the dewpoint alarm.
    async with broker.client("operator") as operator:
        await operator.subscribe("/env/availability", qos=1)
        await operator.subscribe("/env/reply", qos=1)
        async with asyncio.timeout(STACK_TIMEOUT):
            async for message in operator.messages:
                if message.topic.value == "/env/availability" and message.payload == b"online":
                    await operator.publish("/env/sim/humidity", b"95", qos=1)
                elif message.topic.value == "/env/reply":
                    assert json.loads(message.payload)["ok"], message.payload
                    break
    empty: list[str] = []

    def all_answer() -> bool:
        empty[:] = [name for name, query in panel_targets(out) if not influxql(influx, query)]
        return not empty

    try:
        wait_until(all_answer, timeout=STACK_TIMEOUT, what="every panel's query to return data")
    except AssertionError:
        raise AssertionError(f"no data for: {empty}") from None
    events = influxql(influx, 'SELECT "alarm.id" FROM "events" WHERE "event" = \'raised\'')
    assert "dewpoint" in json.dumps(events)


def test_the_services_stay_up_under_the_acl(stack) -> None:
    _, _, influx = stack
    online: list[str] = []

    def everyone_online() -> bool:
        series = influxql(influx, 'SELECT last("online") FROM "availability" GROUP BY "device"')
        online[:] = sorted(s["tags"]["device"] for s in series if s["values"][0][1] == 1)
        return set(online) >= {"hv", "lv", "env", "sensor_1", "archive", "interlock", "M1", "daq"}

    wait_until(everyone_online, timeout=STACK_TIMEOUT, what=f"every service online (so far {online})")
