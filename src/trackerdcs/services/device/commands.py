"""Turn one inbound MQTT message into a device call and a :class:`Reply`.

Every path ends in a reply: a malformed topic, an oversize or binary payload, NaN,
an unknown channel or command, a limit, a device failure. Nothing raised by a device
escapes to the service loop.

``switch`` without a channel switches many channels off in one call to the device
(:mod:`trackerdcs.contract.bulk`): every channel is checked by the guard first, and a
refusal of any refuses the whole command, so that a refused command changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from trackerdcs.contract.bulk import SWITCH, channel_ranges, parse_switch_off
from trackerdcs.contract.payloads import CommandRejected, Reason, Reply, decode_text, shorten
from trackerdcs.contract.topics import Action, Inbound, TopicError, parse_inbound
from trackerdcs.devices.base import Device, Scope
from trackerdcs.services.device.guard import Guard
from trackerdcs.services.device.io_thread import DeviceIO, DeviceTimeout

log = logging.getLogger(__name__)

REBIRTH = "rebirth"
P = ParamSpec("P")
T = TypeVar("T")


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
        if self._switches_many(inbound):
            return await self._switch_off_many(text)
        if self.guard is not None:
            self.guard.check(inbound, text)
        return await self._call(self.device.handle, inbound, text)

    async def _call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await self.io.call(fn, *args, **kwargs)
        except CommandRejected:
            raise
        except DeviceTimeout as exc:
            raise CommandRejected(Reason.DEVICE_ERROR, f"{self.device.name}: {exc}") from None
        except Exception as exc:  # a driver fault must not kill the service
            log.exception("%s failed on %s", self.device.name, args[0] if args else fn)
            raise CommandRejected(Reason.DEVICE_ERROR, f"{type(exc).__name__}: {exc}") from None

    # -- switch off, many channels at once ------------------------------------------------
    def _switches_many(self, inbound: Inbound) -> bool:
        if inbound.action is not Action.CMD or inbound.name != SWITCH or inbound.channel is not None:
            return False
        command = self.device.commands().get(SWITCH)
        return command is not None and command.scope is Scope.CHANNEL

    async def _switch_off_many(self, text: str) -> str:
        listed = parse_switch_off(text)
        known = self.device.channels
        channels = known if listed is None else listed
        unknown = sorted(set(channels).difference(known))
        if unknown:
            raise CommandRejected(
                Reason.UNKNOWN_CHANNEL,
                f"{self.device.name} has no channel {channel_ranges(unknown)} "
                f"(channels: {channel_ranges(known)})",
            )
        self._check_each(channels)
        failed = await self._call(self.device.switch_off, channels)
        if failed:
            first = next(iter(failed.values()))
            raise CommandRejected(
                first.reason,
                f"channel {channel_ranges(failed)} not switched off ({first.message}); the others are off",
            )
        return f"channels {channel_ranges(channels)}: output off"

    def _check_each(self, channels: list[int]) -> None:
        """The guard's verdict on every channel; one refusal refuses them all."""
        refused = self.guard.refused_offs(channels) if self.guard is not None else {}
        if refused:
            first = next(iter(refused.values()))
            raise CommandRejected(
                first.reason, f"channel {channel_ranges(refused)} refused, none switched off: {first.message}"
            )

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
