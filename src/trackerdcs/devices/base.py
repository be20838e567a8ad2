"""The device model every service drives: commands, steering and a status sample.

A device never sees MQTT. The device service hands it parsed topics and payload text
and publishes what :meth:`Device.read` returns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from trackerdcs.contract.bulk import SWITCH
from trackerdcs.contract.payloads import ChannelState, CommandRejected, Meta, Reason
from trackerdcs.contract.topics import Action, Inbound
from trackerdcs.devices.clock import Clock
from trackerdcs.devices.config import DeviceConfig

Body = list[dict[str, Any]] | dict[str, Any]


class Scope(StrEnum):
    """Whether a command's topic names a channel."""

    CHANNEL = "channel"  # /hv/cmd/setv/0: a channel is required
    ANY = "any"  # /hv/sim/leakage_scale[/0]: no channel means every channel
    DEVICE = "device"  # /hv/cmd/rebirth: no channel


@dataclass(frozen=True)
class Command:
    """A named action; ``run`` takes the channel and the payload text, returns a message."""

    name: str
    run: Callable[[int | None, str], str]
    scope: Scope = Scope.CHANNEL
    help: str = ""


@dataclass(frozen=True)
class Sample:
    """One reading of the whole device.

    ``key`` holds the discrete state (on/off, setpoints, states); a change of key is
    published at once, while analogue drift waits for the period.
    """

    ts: float
    body: Body
    key: tuple[Any, ...] = field(default=())


class Device(ABC):
    """Base of every device: dispatches commands and describes itself."""

    kind: str = "device"
    # Whether a call may block on I/O (hardware): such calls run in a worker thread with a
    # timeout. A simulator only computes (a 64-channel poll is 0.15 ms) and says False.
    blocking: bool = True

    def __init__(self, config: DeviceConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.name = config.name

    @property
    def channels(self) -> list[int]:
        return list(range(self.config.channels))

    @abstractmethod
    def read(self) -> Sample:
        """Measure the device now (advancing a simulator to the clock's time)."""

    def read_if_changed(self, key: tuple[Any, ...] | None) -> Sample | None:
        """Measure now; ``None`` when the state is still ``key`` and no status is due.

        A device service polls faster than it publishes, to see a change of state at
        once; a device whose full status costs more to make than its state overrides this.
        """
        sample = self.read()
        return None if sample.key == key else sample

    def commands(self) -> Mapping[str, Command]:
        return {}

    def sim_parameters(self) -> Mapping[str, Command]:
        return {}

    def units(self) -> dict[str, str]:
        return {}

    def limits(self) -> dict[str, dict[str, float]]:
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for simulators
        """Release the hardware; simulators have nothing to release."""

    def reconnect(self) -> None:  # noqa: B027 - optional hook, a no-op for simulators
        """Close and reopen the hardware after a fault (called in the I/O thread)."""

    def error_body(self, message: str) -> Body:
        """The status while the device is in fault: no readings, only the error."""
        return {"state": ChannelState.ERROR.value, "error": message}

    def meta(self) -> Meta:
        return Meta(
            kind=self.config.kind,
            driver=self.config.driver,
            channels=self.channels,
            units=self.units(),
            limits=self.limits(),
            commands=sorted(self.commands()),
            sim_parameters=sorted(self.sim_parameters()),
            period=self.config.period,
        )

    def handle(self, inbound: Inbound, text: str) -> str:
        """Carry out a command or a steering request; raise :class:`CommandRejected`."""
        if inbound.action is Action.CMD:
            table, what = self.commands(), "command"
        else:
            table, what = self.sim_parameters(), "simulator parameter"
            if not table:
                raise CommandRejected(Reason.NOT_SIMULATED, f"{self.name} is not a simulator")
        command = table.get(inbound.name)
        if command is None:
            known = ", ".join(sorted(table)) or "none"
            raise CommandRejected(Reason.UNKNOWN_COMMAND, f"unknown {what} {inbound.name!r} (known: {known})")
        self._check_channel(command, inbound)
        return command.run(inbound.channel, text)

    def switch_off(self, channels: list[int]) -> dict[int, CommandRejected]:
        """Switch ``channels`` off, each as its ``switch off`` does; what failed, by channel.

        A failure does not stop the others: as many outputs as possible go off. A
        driver whose instrument switches many outputs off at once may override this.
        """
        failed: dict[int, CommandRejected] = {}
        for channel in channels:
            try:
                self.handle(Inbound(self.name, Action.CMD, SWITCH, channel), "off")
            except CommandRejected as exc:
                failed[channel] = exc
            except Exception as exc:  # a driver fault: reported, the next channel still goes off
                failed[channel] = CommandRejected(Reason.DEVICE_ERROR, f"{type(exc).__name__}: {exc}")
        return failed

    def _check_channel(self, command: Command, inbound: Inbound) -> None:
        if inbound.channel is None:
            if command.scope is Scope.CHANNEL:
                raise CommandRejected(
                    Reason.BAD_TOPIC,
                    f"{inbound.name} needs a channel: /{self.name}/{inbound.action}/{inbound.name}/<channel>",
                )
            return
        if command.scope is Scope.DEVICE:
            raise CommandRejected(Reason.BAD_TOPIC, f"{inbound.name} takes no channel")
        if inbound.channel not in self.channels:
            raise CommandRejected(
                Reason.UNKNOWN_CHANNEL,
                f"{self.name} has no channel {inbound.channel} (channels: {self.channels})",
            )
