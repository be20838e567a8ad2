"""The console's HTTP API and websocket against a real `dcs up` (the demo stand)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from tests.helpers import decode, probe, wait_until
from tests.services.console.stack import ConsoleStack, console_stack
from trackerdcs.bus.settings import BrokerSettings

pytestmark = pytest.mark.broker

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleStack]:
    with console_stack(tmp_path_factory.mktemp("console")) as running:
        for role in ("viewer", "operator", "expert"):
            running.add_user(role, role, PASSWORD)
        yield running


def client(stack: ConsoleStack, user: str | None = None) -> httpx.Client:
    """A logged-in client (cookie session), or an anonymous one."""
    http = httpx.Client(base_url=stack.base, timeout=15.0, follow_redirects=True)
    if user is not None:
        response = http.post("api/login", json={"user": user, "password": PASSWORD})
        assert response.status_code == 200, response.text
    return http


def command(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post("api/command", json=body)


def test_anonymous_calls_get_401(stack: ConsoleStack) -> None:
    http = client(stack)
    assert http.get("api/state").status_code == 401
    response = command(http, device="lv", command="switch", channel=0, payload="on")
    assert response.status_code == 401
    assert "log in" in response.json()["detail"]
    assert http.get("api/history", params={"device": "env", "field": "temperature"}).status_code == 401


def test_a_wrong_password_gets_401(stack: ConsoleStack) -> None:
    response = client(stack).post("api/login", json={"user": "operator", "password": "nope, not it"})
    assert response.status_code == 401
    assert response.json()["detail"] == "wrong user or password"


def test_a_viewer_reads_but_is_refused_every_command_with_403(stack: ConsoleStack) -> None:
    http = client(stack, "viewer")
    state = http.get("api/state").json()
    assert state["user"] == {"name": "viewer", "role": "viewer"}
    assert state["policy"]["can_command"] is False
    assert set(state["devices"]) == {"hv", "lv", "sensor_1", "env"}
    response = command(http, device="lv", command="switch", channel=0, payload="on")
    assert response.status_code == 403
    assert response.json()["detail"] == "viewers may not send commands"
    assert http.post("api/ack", json={"id": "dewpoint"}).status_code == 403


def test_the_local_token_url_logs_in_the_local_user_as_expert(stack: ConsoleStack) -> None:
    http = client(stack)
    assert http.get(f"login?token={stack.token}").status_code == 200  # followed to the page
    assert http.get("api/state").json()["user"]["role"] == "expert"
    stranger = client(stack)
    stranger.get("login?token=not-the-token")
    assert stranger.get("api/state").status_code == 401


def test_an_operator_command_returns_the_reply_as_the_device_sent_it(stack: ConsoleStack) -> None:
    async def both() -> tuple[httpx.Response, dict[str, Any]]:
        async with probe(BrokerSettings.from_url(stack.broker_url), "/hv/reply/#") as replies:
            response = await asyncio.to_thread(
                command, client(stack, "expert"), device="hv", command="setv", channel=0, payload="5000"
            )
            seen = await replies.wait_for(lambda m: decode(m).get("payload") == "5000")
            return response, decode(seen)

    response, on_the_bus = asyncio.run(both())
    assert response.status_code == 200
    reply = response.json()["reply"]
    assert reply == on_the_bus  # refused by the device, shown as it came
    assert reply["ok"] is False and reply["reason"] == "out_of_range"


def test_an_operator_switches_lv_and_sets_a_voltage(stack: ConsoleStack) -> None:
    http = client(stack, "operator")
    on = command(http, device="lv", command="switch", channel=0, payload="on").json()["reply"]
    assert on["ok"] is True, on
    setv = command(http, device="lv", command="setv", channel=0, payload="2.5").json()["reply"]
    assert setv["ok"] is True, setv

    def readback() -> bool:
        lv = http.get("api/state").json()["devices"]["lv"]["status"]
        return any(c["number"] == 0 and c["on"] == 1 and c["vreq"] == 2.5 for c in lv)

    wait_until(readback, what="lv channel 0 on at 2.5 V in the console's state")


def test_hv_above_the_stand_limit_needs_an_expert(stack: ConsoleStack) -> None:
    refused = command(client(stack, "operator"), device="hv", command="setv", channel=0, payload="350")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "HV above 200 V is for experts (350 V asked); you are operator"
    allowed = command(client(stack, "expert"), device="hv", command="setv", channel=0, payload="350")
    assert allowed.status_code == 200 and allowed.json()["reply"]["ok"] is True
    # an operator may not switch that channel on either: it would apply 350 V
    switch = command(client(stack, "operator"), device="hv", command="switch", channel=0, payload="on")
    assert switch.status_code == 403


def test_simulator_steering_is_for_experts(stack: ConsoleStack) -> None:
    body = {"device": "env", "command": "temperature", "payload": "21", "action": "sim"}
    assert command(client(stack, "operator"), **body).status_code == 403
    reply = command(client(stack, "expert"), **body).json()["reply"]
    assert reply["ok"] is True, reply


def test_bad_requests_are_refused_with_a_reason(stack: ConsoleStack) -> None:
    http = client(stack, "operator")
    unknown = command(http, device="nosuch", command="switch", channel=0, payload="on")
    assert unknown.status_code == 404 and "nosuch" in unknown.json()["detail"]
    bad_name = command(http, device="lv", command="sw/itch", channel=0, payload="on")
    assert bad_name.status_code == 422
    extra = command(http, device="lv", command="switch", payload="on", colour="red")
    assert extra.status_code == 422
    garbage = command(http, device="lv", command="setv", channel=0, payload="lots").json()["reply"]
    assert garbage["ok"] is False and garbage["reason"] == "bad_payload"


def test_a_script_may_use_a_bearer_token(stack: ConsoleStack) -> None:
    token = client(stack).post("api/login", json={"user": "viewer", "password": PASSWORD}).json()["token"]
    http = httpx.Client(base_url=stack.base, headers={"Authorization": f"Bearer {token}"})
    assert http.get("api/state").json()["user"]["name"] == "viewer"
    http.post("api/logout")
    assert http.get("api/state").status_code == 401


def test_a_cross_origin_post_is_refused(stack: ConsoleStack) -> None:
    http = client(stack, "operator")
    response = http.post(
        "api/command",
        json={"device": "lv", "command": "switch", "channel": 0, "payload": "off"},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403


def test_every_command_is_audited_and_archived(stack: ConsoleStack) -> None:
    http = client(stack, "operator")
    command(http, device="lv", command="setv", channel=0, payload="1.5")
    entries = http.get("api/audit").json()["audit"]
    mine = [e for e in entries if e["user"] == "operator" and e["channel"] == 0 and e["payload"] == "1.5"]
    assert mine and mine[-1]["ok"] is True and mine[-1]["payload"] == "1.5"
    assert "before" in mine[-1]
    refused = [e for e in entries if e["ok"] is False and e["message"].startswith("refused by the console")]
    assert refused, "refused attempts are audited too"

    def archived() -> bool:
        # the archiver stores /console/events in the measurement `events`
        got = http.get("api/history", params={"device": "events", "field": "user", "since": 3600})
        return (got.status_code == 200 and "operator" in [v for _, v in got.json()["points"]]) or _any_event(
            stack
        )

    wait_until(archived, what="the console's audit events in the archive")


def _any_event(stack: ConsoleStack) -> bool:
    from trackerdcs.archive.backend import Query
    from trackerdcs.archive.sqlite import SqliteBackend

    path = stack.data_dir / "demo" / "archive.sqlite3"
    if not path.exists():
        return False
    backend = SqliteBackend(path)
    try:
        return any(v == "operator" for _, v in backend.history(Query("events", "user", since=0)))
    finally:
        backend.close()


def test_history_has_points(stack: ConsoleStack) -> None:
    http = client(stack, "viewer")

    def points() -> list[Any]:
        got = http.get("api/history", params={"device": "env", "field": "temperature", "since": 600})
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["unit"] == "°C"
        points: list[Any] = body["points"]
        return points

    wait_until(lambda: len(points()) >= 2, what="temperature history")


def test_runs_list_answers(stack: ConsoleStack) -> None:
    got = client(stack, "viewer").get("api/runs")
    assert got.status_code == 200
    assert isinstance(got.json()["runs"], list)
    assert client(stack, "viewer").get("api/runs/999999").status_code == 404


def test_the_websocket_sends_a_snapshot_then_changes(stack: ConsoleStack) -> None:
    token = client(stack).post("api/login", json={"user": "viewer", "password": PASSWORD}).json()["token"]
    url = stack.base.replace("http", "ws") + "api/live"

    async def follow() -> tuple[dict[str, Any], dict[str, Any]]:
        headers = {"Cookie": f"dcs_session={token}", "Origin": stack.base.rstrip("/")}
        async with websockets.connect(url, additional_headers=headers) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 15))
            second = json.loads(await asyncio.wait_for(ws.recv(), 15))
            return first, second

    first, second = asyncio.run(follow())
    assert first["type"] == "snapshot"
    assert set(first["state"]["devices"]) == {"hv", "lv", "sensor_1", "env"}
    assert first["state"]["user"] == {"name": "viewer", "role": "viewer"}
    assert first["state"]["policy"]["can_command"] is False
    assert second["type"] == "update" and second["devices"]


def test_the_websocket_refuses_no_session_and_a_foreign_origin(stack: ConsoleStack) -> None:
    token = client(stack).post("api/login", json={"user": "viewer", "password": PASSWORD}).json()["token"]
    url = stack.base.replace("http", "ws") + "api/live"

    async def attempt(headers: dict[str, str]) -> int | None:
        try:
            async with websockets.connect(url, additional_headers=headers) as ws:
                await ws.recv()
        except websockets.InvalidStatus as exc:
            return exc.response.status_code
        return None

    assert asyncio.run(attempt({})) == 403
    foreign = {"Cookie": f"dcs_session={token}", "Origin": "http://evil.example"}
    assert asyncio.run(attempt(foreign)) == 403


def test_an_alarm_is_acknowledged_by_the_logged_in_user(stack: ConsoleStack) -> None:
    expert, operator = client(stack, "expert"), client(stack, "operator")
    body = {"device": "env", "command": "humidity", "payload": "95", "action": "sim"}
    assert command(expert, **body).json()["reply"]["ok"] is True

    def alarm() -> dict[str, Any] | None:
        alarms = operator.get("api/state").json()["safety"]["alarms"]
        return next((a for a in alarms if a["id"] == "dewpoint"), None)

    wait_until(lambda: alarm() is not None, what="the dew-point alarm")
    found = alarm()
    assert found is not None
    reply = operator.post("api/ack", json={"id": found["id"]}).json()["reply"]
    assert reply["ok"] is True, reply
    assert "by operator" in reply["message"]
    command(expert, **{**body, "payload": "30"})
    wait_until(lambda: (a := alarm()) is None or a.get("acked_by") == "operator", what="acknowledged")
