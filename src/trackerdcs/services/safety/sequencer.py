"""Module power sequences: LV on then HV up; HV down then LV off.

Each step is a command through the MQTT contract, so the device services apply their
own limits and guards; each wait has the module's timeout. A failed step stops the
sequence and is reported in the module's status.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from trackerdcs.bus.requests import Requester
from trackerdcs.contract.payloads import Reply
from trackerdcs.contract.topics import DeviceTopics
from trackerdcs.safety.config import ChannelRef, ModuleConfig
from trackerdcs.safety.modules import hv_is_down, lv_is_on

log = logging.getLogger(__name__)

Status = Callable[[ChannelRef], Mapping[str, Any] | None]


class SequenceError(RuntimeError):
    """A step of a module sequence failed."""


class Sequencer:
    """Runs the on and off sequences of modules."""

    def __init__(self, requester: Requester, status: Status, changed: asyncio.Condition) -> None:
        self.requester = requester
        self.status = status
        self.changed = changed  # notified on every channel status update

    async def power_on(self, module: ModuleConfig) -> None:
        await self._command(module.lv_ref, "setv", f"{module.lv_voltage}")
        await self._command(module.lv_ref, "switch", "on")
        await self._wait(module, module.lv_ref, lv_is_on, "LV on")
        await self._command(module.hv_ref, "setv", f"{module.hv_voltage}")
        await self._command(module.hv_ref, "switch", "on")

    async def power_off(self, module: ModuleConfig) -> None:
        await self._command(module.hv_ref, "switch", "off")
        await self._wait(module, module.hv_ref, lambda hv: hv_is_down(hv, module), "HV down")
        await self._command(module.lv_ref, "switch", "off")

    async def _command(self, ref: ChannelRef, command: str, payload: str) -> Reply:
        topic = DeviceTopics(ref.device).cmd(command, ref.channel)
        try:
            reply = await self.requester.send(topic, payload)
        except TimeoutError:
            raise SequenceError(f"{ref}: no reply to {command} {payload}") from None
        if not reply.ok:
            raise SequenceError(f"{ref}: {command} {payload} rejected ({reply.reason}): {reply.message}")
        return reply

    async def _wait(
        self, module: ModuleConfig, ref: ChannelRef, done: Callable[[Mapping[str, Any]], bool], what: str
    ) -> None:
        def reached() -> bool:
            status = self.status(ref)
            return status is not None and done(status)

        try:
            async with asyncio.timeout(module.timeout), self.changed:
                await self.changed.wait_for(reached)
        except TimeoutError:
            raise SequenceError(f"module {module.name}: {what} not reached in {module.timeout:g} s") from None
