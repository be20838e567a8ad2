"""R&S HMP4040 four-channel LV supply, through pymeasure's ``HMP4040`` over pyvisa.

Stand file: ``driver = "hmp4040"``, ``resource = "TCPIP::192.168.1.202::10002::SOCKET"``.

Channel ``n`` of the device is the instrument's channel ``n + 1``. The instrument
selects a channel, then commands it; every select-then-command sequence runs inside
one :class:`VisaLink` session, so nothing interleaves. The master output follows the
channels: it is on while any channel is switched on. The HMP4040 has no ramp, so the
ramp settings are kept for the model but not sent. An output that goes off by itself
(its electronic fuse, the front panel, a power cycle) is reported as tripped, and
needs a reset or an ``off`` like any trip.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator

from pymeasure.instruments.rohdeschwarz import HMP4040

from trackerdcs.contract.payloads import ChannelState
from trackerdcs.devices.base import Device
from trackerdcs.devices.clock import Clock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.drivers.visa import VisaLink, VisaSettings, instrument_number
from trackerdcs.devices.supply import ChannelReading, ChannelSettings, PowerSupply

log = logging.getLogger(__name__)

CHANNELS = 4


class HMP4040Driver:
    """The :class:`~trackerdcs.devices.supply.SupplyDriver` of an HMP4040."""

    def __init__(self, link: VisaLink[HMP4040], channels: int) -> None:
        self.link = link
        self.channels = channels
        self.wanted: dict[int, ChannelSettings] = {}
        self._initialised = False  # the wanted settings reached the instrument once

    def apply(self, channel: int, settings: ChannelSettings) -> None:
        self.wanted[channel] = dataclasses.replace(settings)
        if not self._initialised:
            return  # the model's first settings: written when the instrument is first reached
        with self._session() as hmp:
            self._write(hmp, channel, settings)
            hmp.output_enabled = self._master()

    def clear_trip(self, channel: int) -> None:
        """Nothing to clear on the instrument: the model's ``off`` that follows re-arms the channel."""

    def poll(self, now: float) -> list[ChannelReading]:
        with self._session() as hmp:
            master = bool(hmp.output_enabled)
            return [self._read(hmp, ch, master) for ch in range(self.channels)]

    def reconnect(self) -> None:
        self.link.reconnect()

    def close(self) -> None:
        self.link.close()

    @contextlib.contextmanager
    def _session(self) -> Iterator[HMP4040]:
        with self.link.session() as hmp:
            if not self._initialised:
                for channel, settings in sorted(self.wanted.items()):
                    self._write(hmp, channel, settings)
                hmp.output_enabled = self._master()
                self._initialised = True
            yield hmp

    def _master(self) -> bool:
        return any(settings.on for settings in self.wanted.values())

    @staticmethod
    def _write(hmp: HMP4040, channel: int, settings: ChannelSettings) -> None:
        hmp.selected_channel = channel + 1
        hmp.voltage = settings.vreq
        hmp.current = settings.ilimit
        hmp.selected_channel_active = settings.on

    def _read(self, hmp: HMP4040, channel: int, master: bool) -> ChannelReading:
        hmp.selected_channel = channel + 1
        vmon, imon = instrument_number(hmp.measured_voltage), instrument_number(hmp.measured_current)
        live = master and bool(hmp.selected_channel_active)
        wanted = self.wanted.get(channel)
        if live:
            state = ChannelState.ON
        elif wanted is not None and wanted.on:
            state = ChannelState.TRIPPED  # switched on, yet off: the fuse, the panel, a power cycle
        else:
            state = ChannelState.OFF
        return ChannelReading(vmon, imon, state)


def create(config: DeviceConfig, clock: Clock) -> Device:
    """The HMP4040 behind the power-supply model (limits, replies and topics as for any supply)."""
    if not 1 <= config.channels <= CHANNELS:
        raise ValueError(f"{config.name}: an HMP4040 has 1 to {CHANNELS} channels, not {config.channels}")
    link: VisaLink[HMP4040] = VisaLink(VisaSettings.from_config(config), HMP4040)
    return PowerSupply(config, clock, HMP4040Driver(link, config.channels))
