"""Helpers of the console's browser tests: Debian's Chromium through Playwright, screenshots,
the `dcs` command line against the stack under test, and locators for the page's parts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import BrowserContext, Locator, Page, ViewportSize, expect

from tests.helpers import TIMEOUT, children_of, cmdline
from tests.services.console.stack import ConsoleStack
from tests.ui import ARTIFACTS

WAIT_MS = TIMEOUT * 1000
SLOW_MS = 4 * WAIT_MS  # a module's whole power sequence, a run
SHOTS = ARTIFACTS / "console"
VIEWPORT: ViewportSize = {"width": 1600, "height": 1000}


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot in test-artifacts/console/, to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_console(context: BrowserContext, url: str) -> Page:
    """A new tab on ``url``, once the page has its first snapshot."""
    page = context.new_page()
    page.goto(url)
    expect(page.locator("body[data-ready]")).to_be_attached(timeout=WAIT_MS)
    return page


def dcs(stack: ConsoleStack, *args: str) -> subprocess.CompletedProcess[str]:
    """The operator's command line against the stack's broker (not through the console)."""
    argv = [str(Path(sys.executable).parent / "dcs"), *args, "--broker", stack.broker_url]
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT)


def child(stack: ConsoleStack, needle: bytes) -> int:
    """The pid of the `dcs up` child whose command line contains ``needle``."""
    for pid in children_of(stack.proc.popen.pid):
        if needle in cmdline(pid):
            return pid
    raise AssertionError(f"no child of dcs up runs {needle!r}")


def kill(pid: int, sig: int = signal.SIGKILL) -> None:
    """kill -9 by default; SIGSTOP freezes a process, SIGCONT thaws it."""
    os.kill(pid, sig)


class Console:
    """Locators for one tab of the console."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def go(self, tab: str) -> None:
        self.page.locator(f'nav a[href="#{tab}"]').click()
        expect(self.page.locator(f"#view-{tab}")).to_be_visible()

    def row(self, address: str) -> Locator:
        return self.page.locator(f'tr[data-channel="{address}"]')

    def cell(self, address: str, column: str) -> Locator:
        """A channel's cell: state, output, vset, vmon, imon, ilimit or age."""
        return self.row(address).locator(f'[data-col="{column}"]')

    def switch(self, address: str) -> Locator:
        return self.page.get_by_role("switch", name=f"{address} output")

    def setpoint(self, address: str) -> Locator:
        return self.page.get_by_label(f"{address} voltage setpoint")

    def reply(self, label: str) -> Locator:
        return self.page.get_by_label(f"{label} reply", exact=True)

    def confirm(self) -> None:
        dialog = self.page.locator("dialog[open]")
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name="Confirm").click()
        expect(dialog).to_be_hidden()

    @property
    def conn_banner(self) -> Locator:
        return self.page.locator("#conn-banner")

    @property
    def alarm_banner(self) -> Locator:
        return self.page.locator("#alarm-banner")
