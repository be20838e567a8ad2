"""The console in headless Chromium (Debian's, through Playwright) against a real `dcs up` of
the demo stand: log in with the banner's URL, watch, command, be refused, see and acknowledge
an alarm, plot, stay in sync across tabs, survive a killed broker, and as a viewer find no
control that works. Every step leaves a screenshot in test-artifacts/console/."""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.helpers import wait_until
from tests.services.console.browser import (
    SLOW_MS,
    VIEWPORT,
    WAIT_MS,
    Console,
    child,
    dcs,
    kill,
    open_console,
    shot,
)
from tests.services.console.stack import ConsoleStack, console_stack
from tests.ui import CHROMIUM, CHROMIUM_FLAGS

pytestmark = [pytest.mark.ui, pytest.mark.broker]

DEMO_DEVICES = ["hv", "lv", "sensor_1", "env"]
VIEWER = ("vera", "viewer-password")
OPERATOR = ("olga", "operator-password")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleStack]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with console_stack(tmp_path_factory.mktemp("console")) as running:
        yield running


@pytest.fixture(scope="module")
def browser(stack: ConsoleStack) -> Iterator[Browser]:
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=VIEWPORT)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, stack: ConsoleStack) -> Page:
    """A tab logged in by the URL `dcs up` printed."""
    return open_console(context, stack.login_url)


@pytest.fixture
def quiet(stack: ConsoleStack) -> Iterator[None]:
    """The stand as the test found it: M1 off, LV and HV off at 0 V, humidity normal, no alarm."""
    yield
    dcs(stack, "sim", "env", "humidity", "30")
    dcs(stack, "module", "off", "M1")
    for ramp in ("rampup", "rampdown"):
        dcs(stack, "send", "hv", ramp, "10", "--channel", "0")
    dcs(stack, "switch", "hv", "0", "off")
    dcs(stack, "set", "hv", "0", "0")
    # LV off is refused while HV is still up: retry until it has ramped down.
    wait_until(
        lambda: dcs(stack, "switch", "lv", "0", "off").returncode == 0, timeout=SLOW_MS / 1000, what="LV off"
    )
    dcs(stack, "set", "lv", "0", "0")

    def no_alarm() -> bool:
        alarms = json.loads(dcs(stack, "alarms", "--json").stdout or "[]")
        for alarm in alarms:
            dcs(stack, "ack", alarm["id"])
        return not alarms

    wait_until(no_alarm, timeout=SLOW_MS / 1000, what="every alarm acknowledged and clear")
    off = re.compile(r"M1\s+│\s+OFF\s")
    wait_until(
        lambda: bool(off.search(dcs(stack, "module", "status").stdout)), timeout=SLOW_MS / 1000, what="M1 OFF"
    )


def test_banner_url_logs_in_and_shows_every_demo_device(
    stack: ConsoleStack, browser: Browser, context: BrowserContext
) -> None:
    outsider = browser.new_context(viewport=VIEWPORT)
    try:
        lost = outsider.new_page()
        lost.goto(stack.base)
        expect(lost.locator("form#login")).to_be_visible()  # no token, no session: the login form
        shot(lost, "01-login-without-token")
    finally:
        outsider.close()

    page = open_console(context, stack.login_url)
    ui = Console(page)
    expect(page).to_have_url(re.compile(re.escape(stack.base) + "(#.*)?$"))
    expect(page.locator("#stand")).to_have_text("demo")
    expect(page.locator("#user")).to_contain_text("expert")
    expect(page.locator("#bus")).to_contain_text("connected")
    for name in DEMO_DEVICES:
        section = page.get_by_role("region", name=f"device {name}")
        expect(section).to_be_visible()
        expect(section.locator(".badge")).to_have_text("● online")
    expect(page.get_by_role("region", name="module M1").locator(".module-state")).to_have_text("OFF")
    for address in ("hv:0", "lv:0"):
        expect(ui.cell(address, "state")).to_have_text("OFF")
        expect(ui.cell(address, "vmon")).to_contain_text("V")
    expect(
        page.get_by_role("region", name="device env").locator('[data-field="temperature"]')
    ).to_contain_text("°C")
    expect(page.locator("body")).not_to_have_class(re.compile(r"\blost\b"))
    shot(page, "02-overview")


def test_lv_on_set_voltage_and_see_the_readback(stack: ConsoleStack, page: Page, quiet: None) -> None:
    ui = Console(page)
    field = ui.setpoint("lv:0")
    field.fill("5")
    field.press("Enter")
    expect(ui.reply("lv:0")).to_contain_text("accepted")
    expect(field).to_have_value("5.00")  # the device's vreq, not the typed text
    ui.switch("lv:0").click()
    expect(ui.switch("lv:0")).to_have_attribute("aria-checked", "true")
    expect(ui.cell("lv:0", "state")).to_have_text("ON")
    expect(ui.cell("lv:0", "vmon")).to_have_text("5.00 V")
    shot(page, "03-lv-on-5V")

    # A field being typed in is not overwritten by live updates; Esc restores the device's value.
    field.fill("7")
    assert dcs(stack, "set", "lv", "0", "3").returncode == 0
    expect(ui.cell("lv:0", "vmon")).to_have_text("3.00 V")
    expect(field).to_have_value("7")
    shot(page, "04-typing-not-overwritten")
    field.press("Escape")
    expect(field).to_have_value("3.00")

    ui.go("audit")
    expect(page.locator("#view-audit tbody tr").first).to_contain_text("switch")
    expect(page.locator("#view-audit")).to_contain_text("setv")
    shot(page, "05-audit")


def test_hv_is_refused_with_its_reason(stack: ConsoleStack, page: Page, quiet: None) -> None:
    ui = Console(page)
    expect(ui.switch("lv:0")).to_have_attribute("aria-checked", "false")
    ui.switch("hv:0").click()
    ui.confirm()  # switching HV on asks first
    expect(ui.reply("hv:0")).to_contain_text("refused: sequence:")
    expect(ui.switch("hv:0")).to_have_attribute("aria-checked", "false")
    expect(ui.switch("hv:0")).to_have_text("OFF")
    shot(page, "06-hv-refused-sequence")

    # Raising an HV voltage asks too; cancelling sends nothing.
    field = ui.setpoint("hv:0")
    field.fill("150")
    field.press("Enter")
    page.locator("dialog[open]").get_by_role("button", name="Cancel").click()
    expect(field).to_have_value("0.0")
    expect(ui.reply("hv:0")).to_contain_text("refused: sequence:")  # still the last reply


def test_humidity_raises_the_alarm_banner_which_is_acknowledged(
    stack: ConsoleStack, page: Page, quiet: None
) -> None:
    ui = Console(page)
    sim = page.get_by_role("region", name="simulator")
    sim.get_by_label("simulator device").select_option("env")
    sim.get_by_label("simulator parameter").select_option("humidity")
    sim.get_by_label("simulator value").fill("95")
    sim.get_by_role("button", name="Send").click()
    expect(ui.reply("simulator")).to_contain_text("accepted")

    banner = ui.alarm_banner
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("dewpoint")
    expect(banner).to_contain_text("NOT ACKNOWLEDGED")
    expect(banner).to_have_class(re.compile(r"\bsev-major\b"))  # an "alarm": double red
    expect(page.get_by_role("region", name="module M1").locator(".module-state")).to_have_text("INTERLOCKED")
    shot(page, "07-alarm-banner")

    # While it holds, HV is refused with the interlock's reason (LV on first, so it is that one).
    ui.switch("lv:0").click()
    expect(ui.switch("lv:0")).to_have_attribute("aria-checked", "true")
    ui.switch("hv:0").click()
    ui.confirm()
    expect(ui.reply("hv:0")).to_contain_text("refused: interlocked:")
    shot(page, "08-hv-refused-interlocked")

    banner.get_by_role("button", name="acknowledge dewpoint").click()
    expect(banner).to_contain_text("acknowledged by")
    ui.go("alarms")
    row = page.locator('tr[data-alarm="dewpoint"]')
    expect(row).to_contain_text("ACTIVE")
    expect(row).to_contain_text("at")  # acknowledged by NAME at TIME
    expect(page.locator("#view-alarms")).to_contain_text("FIRING")
    shot(page, "09-alarms-acknowledged")

    assert dcs(stack, "sim", "env", "humidity", "30").returncode == 0
    expect(banner).to_be_hidden(timeout=SLOW_MS)  # acknowledged and clear: gone
    shot(page, "10-alarm-gone")


def test_a_plot_has_points_and_grows(page: Page) -> None:
    ui = Console(page)
    ui.go("plots")
    plot = page.get_by_role("region", name=re.compile(r"plot env Temperature"))
    expect(plot.locator("canvas").first).to_be_visible()
    expect(plot).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
    first = int(plot.get_attribute("data-points") or 0)
    wait_until(lambda: int(plot.get_attribute("data-points") or 0) > first, what="a live point appended")
    expect(plot.locator(".u-legend")).to_contain_text("°C")  # the latest values, by colour
    page.get_by_label("plot window").select_option(label="1 h")
    expect(plot).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
    shot(page, "11-plots")


def test_two_tabs_see_the_same_change(stack: ConsoleStack, context: BrowserContext, quiet: None) -> None:
    one = open_console(context, stack.login_url)
    two = open_console(context, stack.base)  # a second tab of the same session
    field = Console(one).setpoint("lv:0")
    field.fill("4.25")
    field.press("Enter")
    for tab in (one, two):
        expect(Console(tab).setpoint("lv:0")).to_have_value("4.25")
    assert dcs(stack, "switch", "lv", "0", "on").returncode == 0  # from outside the console
    for tab in (one, two):
        expect(Console(tab).switch("lv:0")).to_have_attribute("aria-checked", "true")
    shot(one, "12-tab-one")
    shot(two, "13-tab-two")


def test_killed_broker_shows_disconnected_then_recovers(stack: ConsoleStack, page: Page) -> None:
    ui = Console(page)
    expect(ui.conn_banner).to_be_hidden()
    kill(child(stack, b"mosquitto"))
    # dcs up restarts the broker at once and the console's session is back within a fraction
    # of a second, often inside one update period: the page says so either while it is down
    # ("BROKER DISCONNECTED", every value greyed) or once it is back ("BROKER WAS DISCONNECTED").
    expect(ui.conn_banner).to_contain_text("DISCONNECTED")
    shot(page, "14-broker-disconnected")
    expect(ui.conn_banner).to_be_hidden(timeout=SLOW_MS)
    expect(page.locator("body")).not_to_have_class(re.compile(r"\blost\b"))
    expect(page.locator("#bus")).to_have_text("bus ● connected")
    for name in DEMO_DEVICES:
        badge = page.get_by_role("region", name=f"device {name}").locator(".badge")
        expect(badge).to_have_text("● online", timeout=SLOW_MS)
    shot(page, "15-broker-recovered")


def test_a_silent_device_is_marked_stale_at_once(stack: ConsoleStack, page: Page, quiet: None) -> None:
    ui = Console(page)
    host = child(stack, b"\0device\0host\0")  # the four simulated devices' process
    kill(host, signal.SIGSTOP)  # frozen: no sample, no last will either
    try:
        for name in DEMO_DEVICES:
            section = page.get_by_role("region", name=f"device {name}")
            expect(section).to_have_class(re.compile(r"\blive-stale\b"))  # greyed, dotted
            expect(section.locator(".badge")).to_have_text("STALE")
        expect(ui.cell("hv:0", "vmon")).to_be_visible()  # still there, but not as if live
        shot(page, "16-devices-stale")
    finally:
        kill(host, signal.SIGCONT)
    for name in DEMO_DEVICES:
        expect(page.get_by_role("region", name=f"device {name}").locator(".badge")).to_have_text("● online")


def test_killed_console_shows_console_disconnected(
    stack: ConsoleStack, page: Page, context: BrowserContext
) -> None:
    ui = Console(page)
    kill(child(stack, b"\0web\0run\0"))
    expect(ui.conn_banner).to_contain_text("CONSOLE DISCONNECTED")
    expect(page.locator("body")).to_have_class(re.compile(r"\blost\b"))
    shot(page, "17-console-disconnected")
    # dcs up restarts it; sessions are in memory, so the page asks to log in again, and the
    # banner's URL (the same token) gets back in.
    expect(page.locator("form#login")).to_be_visible(timeout=SLOW_MS)
    again = open_console(context, stack.login_url)
    expect(Console(again).conn_banner).to_be_hidden()
    shot(again, "18-console-back")


def log_in(context: BrowserContext, stack: ConsoleStack, name: str, password: str) -> Page:
    """The login form, as someone without the banner's URL."""
    page = context.new_page()
    page.goto(stack.base)
    page.get_by_label("User").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("body[data-ready]")).to_be_attached()
    return page


def test_an_operator_has_no_expert_controls_and_is_told_why(
    stack: ConsoleStack, context: BrowserContext, quiet: None
) -> None:
    name, password = OPERATOR
    stack.add_user(name, "operator", password)
    page = log_in(context, stack, name, password)
    ui = Console(page)
    expect(page.locator("#user")).to_have_text(f"{name} · operator")
    expect(ui.switch("lv:0")).to_be_enabled()
    expect(page.get_by_role("region", name="simulator")).to_be_hidden()  # simulator steering: experts
    field = ui.setpoint("hv:0")
    field.fill("250")  # above the demo's expert_above_v (200 V)
    field.press("Enter")
    ui.confirm()
    expect(ui.reply("hv:0")).to_contain_text("forbidden:")
    expect(ui.reply("hv:0")).to_contain_text("expert")
    expect(field).to_have_value("0.0")
    shot(page, "19-operator-forbidden")


def test_a_viewer_finds_no_control_that_works(
    stack: ConsoleStack, context: BrowserContext, quiet: None
) -> None:
    name, password = VIEWER
    stack.add_user(name, "viewer", password)
    assert dcs(stack, "sim", "env", "humidity", "95").returncode == 0  # an alarm a viewer may not acknowledge
    page = log_in(context, stack, name, password)
    expect(page.locator("#user")).to_have_text(f"{name} · viewer")
    ui = Console(page)
    expect(ui.alarm_banner).to_be_visible()
    expect(ui.cell("lv:0", "vset")).to_contain_text("V")
    shot(page, "20-viewer-overview")

    controls = "[role=switch], input.setpoint, .module-controls button, .btn-ack, .daq-controls button, .simulator button"
    for tab in ("overview", "modules", "alarms", "runs"):
        ui.go(tab)
        expect(page.locator(controls).filter(visible=True)).to_have_count(0)
        shot(page, f"21-viewer-{tab}")
    # The server refuses anyway.
    status = page.evaluate(
        """() => fetch('api/command', {method: 'POST', headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({device: 'lv', command: 'switch', channel: 0, payload: 'on'})}).then(r => r.status)"""
    )
    assert status == 403


def test_a_run_is_started_listed_and_shown_with_its_conditions(
    stack: ConsoleStack, page: Page, quiet: None
) -> None:
    ui = Console(page)
    for ramp in ("rampup", "rampdown"):  # the module's 300 V in 6 s rather than 30
        assert dcs(stack, "send", "hv", ramp, "50", "--channel", "0").returncode == 0
    module = page.get_by_role("region", name="module M1")
    module.get_by_role("button", name="module M1 on").click()
    ui.confirm()
    expect(module.get_by_label("module M1 reply")).to_contain_text("accepted")
    expect(module.locator(".module-state")).to_have_text("HV ON", timeout=SLOW_MS)
    shot(page, "22-module-hv-on")

    ui.go("runs")
    page.get_by_label("calibration", exact=True).fill("pedenoise")
    page.get_by_role("button", name="Start run").click()
    expect(ui.reply("daq")).to_contain_text("accepted")
    expect(page.locator(".daq-state")).to_have_text("DONE", timeout=SLOW_MS)
    run = page.locator("#view-runs tr[data-run]").first
    expect(run).to_contain_text("pedenoise")
    expect(run).to_contain_text("done")
    shot(page, "23-runs")

    run.get_by_role("link").click()
    record = page.locator(".run-page")
    expect(record).to_contain_text("pedenoise")
    expect(record.locator(".record")).to_contain_text("M1")
    expect(record.locator(".plot").first).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
    shot(page, "24-run-page")

    ui.go("overview")
    module.get_by_role("button", name="module M1 off").click()
    expect(module.locator(".module-state")).to_have_text("OFF", timeout=SLOW_MS)
