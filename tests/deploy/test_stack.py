"""The deployment's own services, run natively as compose would run them: every `dcs`
command of the compose files, with their per-service MQTT accounts, against the
generated mosquitto and a real InfluxDB. Then every query of the generated Grafana
dashboard must return data (Grafana itself cannot be installed here)."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.native import NativeStack, basic_auth, native_env, native_stack
from tests.deploying import compose, env_file, run_deploy
from tests.helpers import TIMEOUT, wait_until
from tests.influx import InfluxProcess

pytestmark = pytest.mark.broker

STACK_TIMEOUT = 4 * TIMEOUT  # the archiver's first write, the safety service's first rules
READER: tuple[str, str] = ("", "")  # Grafana's InfluxDB account, set by the fixture


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NativeStack]:
    out = tmp_path_factory.mktemp("deployment")
    run_deploy(out)
    influx_env = native_env(compose(out)["services"]["influxdb"], env_file(out), {})
    global READER
    READER = (influx_env["INFLUXDB_READ_USER"], influx_env["INFLUXDB_READ_USER_PASSWORD"])
    with native_stack(out, tmp_path_factory) as running:
        yield running


def influxql(influx: InfluxProcess, query: str) -> list[dict[str, Any]]:
    """A query as Grafana's datasource makes it: as the read-only user."""
    params = urllib.parse.urlencode({"db": "dcs", "q": query})
    url = f"http://127.0.0.1:{influx.port}/query?{params}"
    with urllib.request.urlopen(
        urllib.request.Request(url, None, basic_auth(READER)), timeout=TIMEOUT
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


async def test_every_dashboard_query_returns_data_from_the_deployed_services(stack: NativeStack) -> None:
    out, broker, influx = stack.out, stack.broker, stack.influx
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


def test_the_services_stay_up_under_the_acl(stack: NativeStack) -> None:
    influx = stack.influx
    online: list[str] = []

    def everyone_online() -> bool:
        series = influxql(influx, 'SELECT last("online") FROM "availability" GROUP BY "device"')
        online[:] = sorted(s["tags"]["device"] for s in series if s["values"][0][1] == 1)
        return set(online) >= {"hv", "lv", "env", "sensor_1", "archive", "interlock", "M1", "daq", "console"}

    wait_until(everyone_online, timeout=STACK_TIMEOUT, what=f"every service online (so far {online})")
