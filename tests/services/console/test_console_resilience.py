"""The console through a broker's death: it says so at once, and recovers by itself."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import wait_until
from tests.services.console.stack import console_stack
from tests.supervisor.test_resilience import child, wait_for_new_broker

pytestmark = pytest.mark.broker


def test_the_console_shows_the_broker_gone_and_comes_back(tmp_path: Path) -> None:
    with console_stack(tmp_path) as stack:
        http = httpx.Client(base_url=stack.base, timeout=15.0, follow_redirects=True)
        http.get(f"login?token={stack.token}")

        def state() -> dict[str, Any]:
            body: dict[str, Any] = http.get("api/state").json()
            return body

        wait_until(lambda: state()["bus"]["connected"], what="the console on the bus")
        broker = child(stack.proc, b"mosquitto")
        os.kill(broker, signal.SIGKILL)
        wait_until(lambda: not state()["bus"]["connected"], what="the console to see the broker gone")
        refused = http.post("api/command", json={"device": "lv", "command": "switch", "payload": "off"})
        assert refused.status_code == 503
        wait_for_new_broker(stack.proc, broker)
        wait_until(lambda: state()["bus"]["connected"], what="the console back on the bus")
        body = {"device": "lv", "command": "setv", "channel": 0, "payload": "1"}

        def answered() -> bool:  # the device may reconnect after the console does: 504 until then
            reply = http.post("api/command", json=body)
            return reply.status_code == 200 and bool(reply.json()["reply"]["ok"])

        wait_until(answered, what="a command answered after the broker came back")
