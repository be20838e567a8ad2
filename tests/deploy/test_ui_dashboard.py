"""The operator's dashboard end to end: generated Node-RED behind the generated TLS gateway,
driven in headless Chromium against the simulated stand on a real broker."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from playwright.async_api import Locator, Page, async_playwright, expect

from tests.helpers import TIMEOUT, BrokerProcess, free_port
from tests.ui import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_FLAGS,
    Service,
    nginx,
    node_red,
    rewrite_nginx,
    self_signed,
)
from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.deploy.gateway import write_gateway
from trackerdcs.deploy.nodered import write_nodered
from trackerdcs.services.device.build import device_service
from trackerdcs.services.device.service import DeviceService
from trackerdcs.services.safety.build import safety_service
from trackerdcs.services.safety.service import SafetyService
from trackerdcs.stand import Stand, parse_stand

pytestmark = [pytest.mark.ui, pytest.mark.broker]

DASHBOARD_PASSWORD = "dash-board-pw"
ADMIN_PASSWORD = "admin-editor-pw"
WAIT_MS = TIMEOUT * 1000

STAND = """
name = "ui-test"

[[devices]]
name = "hv"
kind = "hv"
period = 0.2
ramp_up = 200.0
ramp_down = 200.0
ramp_max = 1000.0

[[devices]]
name = "lv"
kind = "lv"
period = 0.2
ramp_up = 50.0
ramp_down = 50.0

[[devices]]
name = "env"    # never started: its stale rule fires and inhibits HV
kind = "env"
period = 0.2

[[modules]]
name = "M1"
lv = "lv:0"
hv = "hv:0"
timeout = 10.0

[interlock]
heartbeat = 0.2

[[rules]]
name = "env_stale"
description = "No environment data: no HV"
stale = "env"
after_s = 1.0
inhibit_hv = ["*"]
"""


class PasswordBroker(BrokerProcess):
    """mosquitto with no anonymous access: Node-RED gets in only if its encrypted credentials work."""

    USERS: ClassVar[dict[str, str]] = {"nodered": "nodered-mqtt-pw", "stand": "stand-mqtt-pw"}

    def argv(self) -> list[str]:
        argv = super().argv()
        passwords = self.workdir / "passwords"
        for i, (user, password) in enumerate(self.USERS.items()):
            create = ["-c"] if i == 0 else []
            subprocess.run(["mosquitto_passwd", "-b", *create, str(passwords), user, password], check=True)
        conf = Path(argv[-1])
        assert "allow_anonymous true" in conf.read_text()
        text = conf.read_text().replace(
            "allow_anonymous true", f"allow_anonymous false\npassword_file {passwords}"
        )
        conf.write_text(text)
        return argv

    @property
    def stand_settings(self) -> BrokerSettings:
        return self.settings.with_credentials("stand", self.USERS["stand"])


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[PasswordBroker]:
    process = PasswordBroker("mosquitto", tmp_path / "mosquitto")
    process.start()
    yield process
    process.stop()


@contextlib.asynccontextmanager
async def started(service: Service) -> AsyncIterator[Service]:
    await asyncio.to_thread(service.start)
    try:
        yield service
    finally:
        await asyncio.to_thread(service.stop)


@contextlib.asynccontextmanager
async def simulated_stand(stand: Stand, broker: PasswordBroker) -> AsyncIterator[None]:
    settings = broker.stand_settings
    services: list[DeviceService | SafetyService] = [
        device_service(stand, name, settings) for name in ("hv", "lv")
    ]
    services.append(safety_service(stand, settings))
    tasks = [asyncio.create_task(s.run()) for s in services]
    try:
        async with asyncio.timeout(TIMEOUT):
            for s in services:
                await s.connected.wait()
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def gateway(stand: Stand, tmp: Path, broker: PasswordBroker) -> AsyncIterator[tuple[int, int]]:
    """Node-RED and nginx with the generated configuration; yields the (http, https) ports."""
    write_nodered(
        stand,
        tmp,
        admin_password=ADMIN_PASSWORD,
        credential_secret="cred-secret",
        dashboard_password=DASHBOARD_PASSWORD,
        mqtt_url=broker.url,
        mqtt_username="nodered",
        mqtt_password=broker.USERS["nodered"],
    )
    cert, key = self_signed(tmp / "certs")
    write_gateway(stand, tmp, server_name="localhost", cert_file=str(cert), key_file=str(key))
    http, https, red_port = free_port(), free_port(), free_port()
    conf = tmp / "gateway" / "nginx.conf"
    conf.write_text(rewrite_nginx(conf.read_text(), tmp / "gateway", http, https, red_port, free_port()))
    async with started(node_red(tmp / "nodered", red_port)), started(nginx(conf, tmp / "gateway", https)):
        yield http, https


def request(
    url: str, data: bytes | None = None, auth: tuple[str, str] | None = None, bearer: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request through the gateway: no redirects followed, the test certificate not checked."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=context))
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    try:
        with opener.open(urllib.request.Request(url, data, headers), timeout=TIMEOUT) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def socketio_connect(base: str, auth: tuple[str, str] | None) -> str:
    """Open Dashboard 2's socket.io (engine.io polling) and return the server's answer to a connect."""
    status, _, body = request(f"{base}?EIO=4&transport=polling", auth=auth)
    if status != 200:
        return f"HTTP {status}"
    sid = json.loads(body[1:])["sid"]
    url = f"{base}?EIO=4&transport=polling&sid={sid}"
    request(url, data=b"40", auth=auth)
    return request(url, auth=auth)[2].decode()[:200]


def check_editor_login(https: int) -> None:
    editor = f"https://127.0.0.1:{https}/nodered"
    assert request(f"{editor}/flows")[0] == 401, "the editor API must need a login"
    assert request(f"{editor}/")[0] == 200, "the editor page shows its login form"
    form = urllib.parse.urlencode(
        {"client_id": "node-red-editor", "grant_type": "password", "scope": "*", "username": "admin"}
    )
    assert request(f"{editor}/auth/token", (form + "&password=wrong").encode())[0] == 403
    status, _, body = request(f"{editor}/auth/token", (form + f"&password={ADMIN_PASSWORD}").encode())
    assert status == 200, body
    token = json.loads(body)["access_token"]
    assert request(f"{editor}/flows", bearer=token)[0] == 200


def check_protection(http: int, https: int) -> None:
    status, headers, _ = request(f"http://127.0.0.1:{http}/dashboard/")
    assert status == 301 and headers["Location"].startswith("https://"), (status, headers)
    dashboard = f"https://127.0.0.1:{https}/dashboard/"
    status, headers, _ = request(dashboard)
    assert status == 401, "the dashboard must ask for the operator login"
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert request(dashboard, auth=("operator", "wrong"))[0] == 401
    assert request(dashboard, auth=("operator", DASHBOARD_PASSWORD))[0] == 200
    # The dashboard's socket.io is outside httpNodeAuth: the settings' middleware guards it.
    socket = f"{dashboard}socket.io/"
    assert "log in to the dashboard first" in socketio_connect(socket, None)
    assert "log in to the dashboard first" in socketio_connect(socket, ("operator", "wrong"))
    assert socketio_connect(socket, ("operator", DASHBOARD_PASSWORD)).startswith("40{")
    check_editor_login(https)


def value(page: Page, css: str) -> Locator:
    return page.locator(f".{css} .nrdb-ui-text-value")


async def set_voltage(page: Page, device: str, volts: str) -> None:
    field = page.locator(f".dcs-{device}-0-setv input")
    await field.fill("")
    await field.fill(volts)
    await field.press("Enter")


async def operate(page: Page) -> None:
    reply = value(page, "dcs-lv-reply")
    await expect(value(page, "dcs-lv-0-state")).not_to_have_text("", timeout=WAIT_MS)
    # Switch LV on, set a voltage, see the readback follow.
    await page.locator(".dcs-lv-0-switch input").click()
    await expect(reply).to_have_text(re.compile(r"^ok: switch 0 on"), timeout=WAIT_MS)
    await expect(page.locator(".dcs-lv-0-switch input")).to_be_checked(timeout=WAIT_MS)
    await set_voltage(page, "lv", "5")
    await expect(reply).to_have_text(re.compile(r"^ok: setv 0 5"), timeout=WAIT_MS)
    await expect(value(page, "dcs-lv-0-vmon")).to_have_text(
        re.compile(r"^(4\.9\d|5\.0\d) V$"), timeout=WAIT_MS
    )
    await expect(value(page, "dcs-lv-0-state")).to_have_text("on", timeout=WAIT_MS)
    # The interlock inhibits HV (no environment data): HV on is refused, with the reason.
    await expect(page.locator(".dcs-alarms tbody tr", has_text="env_stale")).to_be_visible(timeout=WAIT_MS)
    await page.locator(".dcs-hv-0-switch input").click()
    await expect(value(page, "dcs-hv-reply")).to_have_text(
        re.compile(r"^refused: interlocked: "), timeout=WAIT_MS
    )
    await expect(page.locator(".dcs-hv-0-switch input")).not_to_be_checked(timeout=WAIT_MS)
    await page.locator(".dcs-M1-on button").click()
    await expect(value(page, "dcs-M1-reply")).to_have_text(
        re.compile(r"^refused: interlocked: module M1 is interlocked by env_stale"), timeout=WAIT_MS
    )
    # Above the supply's limit (vmax 12 V): the device refuses and says why; nothing changes.
    await set_voltage(page, "lv", "50")
    await expect(reply).to_have_text(re.compile(r"^refused: out_of_range: "), timeout=WAIT_MS)
    # Acknowledge the alarm with a click on its row.
    await page.locator(".dcs-alarms tbody tr", has_text="env_stale").click()
    await expect(value(page, "dcs-interlock-reply")).to_have_text(
        re.compile(r"^ok: ack .*acknowledged by"), timeout=WAIT_MS
    )
    await expect(page.locator(".dcs-alarms tbody tr", has_text="env_stale")).not_to_contain_text(
        "unacked", timeout=WAIT_MS
    )
    await expect(value(page, "dcs-lv-0-vreq")).to_have_text("5.00 V")


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


async def test_operator_switches_sets_reads_back_and_sees_refusals(
    secured: PasswordBroker, tmp_path: Path, artifacts: Path
) -> None:
    stand = parse_stand(STAND, "ui-test")
    async with simulated_stand(stand, secured), gateway(stand, tmp_path, secured) as (http, https):
        await asyncio.to_thread(check_protection, http, https)
        async with async_playwright() as playwright:
            # launch() gives Chromium a new, empty profile (user data dir) of its own.
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            context = await browser.new_context(
                http_credentials={"username": "operator", "password": DASHBOARD_PASSWORD},
                ignore_https_errors=True,
                viewport={"width": 1400, "height": 1000},
            )
            page = await context.new_page()
            shot = artifacts / "ui-dashboard.png"
            try:
                await page.goto(f"https://localhost:{https}/dashboard/control")
                await operate(page)
            finally:
                await page.screenshot(path=str(shot), full_page=True)
                print(f"dashboard screenshot: {shot}")  # noqa: T201 - the artifact's path, for CI logs
                await browser.close()
