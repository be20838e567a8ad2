"""The console in production, end to end: the nginx.conf `dcs deploy` generated, run natively
in front of the deployment's own `dcs web run` (and its broker, InfluxDB, devices and safety
service, as compose runs them), reached over HTTPS with the generated CA and admin password."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
import websockets
from playwright.sync_api import expect, sync_playwright

from tests.deploy.native import NativeStack, native_stack
from tests.deploying import compose, run_deploy
from tests.helpers import TIMEOUT, free_port, wait_until
from tests.ui import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, nginx, rewrite_nginx, running
from trackerdcs.deploy import images as im
from trackerdcs.deploy.console import ADMIN, ADMIN_SECRET, PORT

pytestmark = [pytest.mark.ui, pytest.mark.broker]

DEMO_DEVICES = {"hv", "lv", "sensor_1", "env"}


@dataclass
class Gateway:
    stack: NativeStack
    http: int
    https: int

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.https}"

    @property
    def console(self) -> str:
        return f"{self.origin}/console/"

    @property
    def tls(self) -> ssl.SSLContext:
        """Trusts the deployment's own development CA, and only it; the host name is checked."""
        return ssl.create_default_context(cafile=str(self.stack.out / "tls/ca.crt"))

    @property
    def password(self) -> str:
        return (self.stack.out / "secrets" / ADMIN_SECRET).read_text().strip()

    def client(self) -> httpx.Client:
        return httpx.Client(verify=self.tls, timeout=TIMEOUT, follow_redirects=False)

    def login(self) -> str:
        """The session cookie ``name=value`` of admin, logged in through the gateway."""
        with self.client() as http:
            response = http.post(self.console + "api/login", json={"user": ADMIN, "password": self.password})
        assert response.status_code == 200, response.text
        return response.headers["set-cookie"].split(";")[0]


def healthz(port: int) -> dict[str, Any] | None:
    try:
        body: dict[str, Any] = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
    except httpx.HTTPError:
        return None
    return body


def gateway_conf(out: Path, workdir: Path, http: int, https: int, console: int) -> Path:
    """The generated nginx.conf with loopback ports and the deployment's certificate and key."""
    text = (out / "gateway/nginx.conf").read_text()
    for container, here in [
        (im.GATEWAY_CERT, out / "tls/gateway.crt"),
        (im.GATEWAY_KEY, out / "secrets/gateway.key"),
    ]:
        assert container in text, container
        text = text.replace(container, str(here))
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(rewrite_nginx(text, workdir, http, https, free_port(), free_port(), console))
    return conf


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    out = tmp_path_factory.mktemp("deployment")
    run_deploy(out)
    with native_stack(out, tmp_path_factory) as stack:
        port = stack.ports["console"]
        wait_until(
            lambda: (healthz(port) or {}).get("bus") is True or stack.procs["console"].poll() is not None,
            what="the console on its broker",
        )
        assert stack.procs["console"].poll() is None, stack.log("console")
        http, https = free_port(), free_port()
        work = tmp_path_factory.mktemp("gateway")
        with running(nginx(gateway_conf(out, work, http, https, port), work, https)):
            yield Gateway(stack, http, https)


def test_http_and_the_bare_prefix_are_redirected(gateway: Gateway) -> None:
    with gateway.client() as http:
        plain = http.get(f"http://localhost:{gateway.http}/console/")
        assert plain.status_code == 301 and plain.headers["location"] == gateway.console
        bare = http.get(gateway.origin + "/console")
        assert bare.status_code == 301
        assert urljoin(gateway.origin + "/console", bare.headers["location"]) == gateway.console


def test_the_page_sends_a_stranger_to_the_login(gateway: Gateway) -> None:
    with gateway.client() as http:
        page = http.get(gateway.console)
        assert page.status_code == 303
        login = urljoin(gateway.console, page.headers["location"])
        assert login == gateway.console + "login"
        form = http.get(login)
        assert form.status_code == 200 and "text/html" in form.headers["content-type"]
        assert form.headers["strict-transport-security"].startswith("max-age=")
        assert http.get(gateway.console + "api/state").status_code == 401
        assert http.get(gateway.console + "healthz").json()["ok"] is True  # no session needed


def test_the_generated_admin_logs_in_with_a_secure_cookie(gateway: Gateway) -> None:
    with gateway.client() as http:
        wrong = http.post(gateway.console + "api/login", json={"user": ADMIN, "password": "not it at all"})
        assert wrong.status_code == 401
        response = http.post(
            gateway.console + "api/login", json={"user": ADMIN, "password": gateway.password}
        )
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "expert"
    attributes = {a.strip().split("=")[0].lower() for a in response.headers["set-cookie"].split(";")}
    assert {"secure", "httponly", "samesite"} <= attributes, response.headers["set-cookie"]
    assert "path=/console/" in response.headers["set-cookie"].lower()  # not sent to Grafana or Node-RED


def test_the_state_comes_through_the_gateway(gateway: Gateway) -> None:
    cookie = gateway.login()
    with gateway.client() as http:

        def state() -> dict[str, Any]:
            response = http.get(gateway.console + "api/state", headers={"Cookie": cookie})
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        assert state()["user"] == {"name": ADMIN, "role": "expert"}
        assert set(state()["devices"]) == DEMO_DEVICES
        wait_until(
            lambda: all(d["availability"] == "online" for d in state()["devices"].values()),
            what="every demo device online in the console",
        )


def test_commands_pass_the_origin_check_and_the_consoles_broker_account(gateway: Gateway) -> None:
    headers = {"Cookie": gateway.login(), "Origin": gateway.origin}
    switch = {"device": "lv", "command": "switch", "channel": 0, "payload": "on"}
    steer = {"device": "env", "command": "temperature", "payload": "21", "action": "sim"}
    with gateway.client() as http:
        for body in (switch, steer):
            response = http.post(gateway.console + "api/command", json=body, headers=headers)
            assert response.status_code == 200, response.text
            assert response.json()["reply"]["ok"] is True, response.json()
        # the same host on another port is another origin: Host must have kept the port
        for origin in ("https://localhost", "https://evil.example"):
            refused = http.post(
                gateway.console + "api/command", json=switch, headers={**headers, "Origin": origin}
            )
            assert refused.status_code == 403, (origin, refused.text)


def test_the_login_throttle_counts_the_real_peer_not_a_forged_header(gateway: Gateway) -> None:
    # From another loopback address, so that its lock-out is not the other tests' address.
    transport = httpx.HTTPTransport(verify=gateway.tls, local_address="127.0.0.2")
    url = f"https://127.0.0.1:{gateway.https}/console/api/login"
    wrong = {"user": ADMIN, "password": "a wrong guess"}
    with httpx.Client(transport=transport, timeout=TIMEOUT) as http:
        statuses = [
            http.post(url, json=wrong, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
            for i in range(6)
        ]
    assert statuses == [401] * 5 + [429]  # each forged address would have had 5 guesses of its own
    with gateway.client() as http:  # 127.0.0.1 is not locked out
        response = http.post(
            gateway.console + "api/login", json={"user": ADMIN, "password": gateway.password}
        )
        assert response.status_code == 200


async def live(gateway: Gateway, cookie: str, origin: str) -> dict[str, Any]:
    url = f"wss://localhost:{gateway.https}/console/api/live"
    headers = {"Cookie": cookie, "Origin": origin}
    async with websockets.connect(url, ssl=gateway.tls, additional_headers=headers) as ws:
        first: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    return first


def test_the_live_websocket_gets_its_snapshot_through_the_gateway(gateway: Gateway) -> None:
    cookie = gateway.login()
    first = asyncio.run(live(gateway, cookie, gateway.origin))
    assert first["type"] == "snapshot"
    assert set(first["state"]["devices"]) == DEMO_DEVICES
    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(live(gateway, cookie, "https://localhost"))
    assert refused.value.response.status_code == 403


def test_the_compose_healthcheck_passes(gateway: Gateway) -> None:
    test = compose(gateway.stack.out)["services"]["console"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "python"]
    port = gateway.stack.ports["console"]
    argv = [sys.executable, *[a.replace(f":{PORT}/", f":{port}/") for a in test[2:]]]
    assert subprocess.run(argv, capture_output=True, timeout=TIMEOUT).returncode == 0


def test_the_page_runs_in_chromium_behind_the_gateway(gateway: Gateway) -> None:
    name, value = gateway.login().split("=", 1)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(ignore_https_errors=True, viewport={"width": 1600, "height": 1000})
            context.add_cookies([{"name": name, "value": value, "url": gateway.console}])
            page = context.new_page()
            page.goto(gateway.console)
            expect(page.locator("body[data-ready]")).to_be_attached(timeout=TIMEOUT * 1000)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "console-behind-gateway.png"), full_page=True)
        finally:
            browser.close()
