"""Turn one inbound MQTT message into a device call and a :class:`Reply`.

Every path ends in a reply: a malformed topic, an oversize or binary payload, NaN,
an unknown channel or command, a limit, a device failure. Nothing raised by a device
escapes to the service loop.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from trackerdcs.contract.payloads import CommandRejected, Reason, Reply, decode_text, shorten
from trackerdcs.contract.topics import Action, Inbound, TopicError, parse_inbound
from trackerdcs.devices.base import Device
from trackerdcs.services.device.guard import Guard
from trackerdcs.services.device.io_thread import DeviceIO, DeviceTimeout

log = logging.getLogger(__name__)

REBIRTH = "rebirth"


class CommandHandler:
    """Validates and executes commands for one device."""

    def __init__(
        self,
        device: Device,
        io: DeviceIO,
        now: Callable[[], float],
        rebirth: Callable[[], Awaitable[None]],
        guard: Guard | None = None,
        fault: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.guard = guard
        self.fault = fault
        self.device = device
        self.io = io
        self.now = now
        self.rebirth = rebirth

    async def handle(self, topic: str, raw: bytes) -> Reply:
        inbound: Inbound | None = None
        text = raw[:64].decode("utf-8", "replace")
        try:
            inbound = self._parse(topic)
            text = decode_text(raw)
            message = await self._execute(inbound, text)
        except CommandRejected as exc:
            log.warning("%s %r rejected: %s (%s)", topic, shorten(text), exc.message, exc.reason)
            return self._reply(topic, text, inbound, exc.reason, exc.message)
        log.info("%s %r: %s", topic, shorten(text), message)
        return self._reply(topic, text, inbound, None, message)

    def _parse(self, topic: str) -> Inbound:
        try:
            inbound = parse_inbound(topic)
        except TopicError as exc:
            raise CommandRejected(Reason.BAD_TOPIC, str(exc)) from None
        if inbound.device != self.device.name:
            raise CommandRejected(Reason.BAD_TOPIC, f"topic is not for {self.device.name}")
        return inbound

    async def _execute(self, inbound: Inbound, text: str) -> str:
        if inbound.action is Action.CMD and inbound.name == REBIRTH:
            await self.rebirth()
            return "full state published again"
        fault = self.fault()
        if fault is not None:  # the service is reopening the instrument
            raise CommandRejected(Reason.DEVICE_ERROR, f"{self.device.name} is in fault: {fault}")
        if self.guard is not None:
            self.guard.check(inbound, text)
        try:
            return await self.io.call(self.device.handle, inbound, text)
        except CommandRejected:
            raise
        except DeviceTimeout as exc:
            raise CommandRejected(Reason.DEVICE_ERROR, f"{self.device.name}: {exc}") from None
        except Exception as exc:  # a driver fault must not kill the service
            log.exception("%s failed on %s", self.device.name, inbound)
            raise CommandRejected(Reason.DEVICE_ERROR, f"{type(exc).__name__}: {exc}") from None

    def _reply(
        self, topic: str, text: str, inbound: Inbound | None, reason: Reason | None, message: str
    ) -> Reply:
        return Reply(
            ok=reason is None,
            device=self.device.name,
            topic=shorten(topic, 256),
            payload=shorten(text),
            command=inbound.name if inbound else None,
            channel=inbound.channel if inbound else None,
            reason=reason,
            message=message,
            ts=self.now(),
        )
