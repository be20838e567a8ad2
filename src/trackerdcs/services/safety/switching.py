"""Switching channels off for a rule that fired: one command per device (decision 28).

A rule on 5,120 modules used to send 5,120 ``switch off`` commands, one per channel,
and the device hosts took them one at a time. Now a device gets one
``/<dev>/cmd/switch`` listing its channels (:mod:`trackerdcs.contract.bulk`), and a
single channel still gets ``/<dev>/cmd/switch/<ch>``. A device that refuses the list,
or does not answer it (one that predates the command, one with a channel stuck), is
told channel by channel, so that every channel gets its own verdict, and its own alarm
if it does not go off.
"""

from __future__ import annotations

import asyncio
import logging

from trackerdcs.bus.requests import Requester
from trackerdcs.contract.bulk import MAX_CHANNELS, SWITCH, channel_ranges, switch_off_payload
from trackerdcs.contract.topics import DeviceTopics
from trackerdcs.safety.config import ChannelRef

log = logging.getLogger(__name__)


def describe(device: str, channels: list[int]) -> str:
    """``hv:0`` for one channel, ``hv channels 0-63`` for more."""
    if len(channels) == 1:
        return str(ChannelRef(device, channels[0]))
    return f"{device} channels {channel_ranges(channels)}"


async def switch_off(requester: Requester, device: str, channels: list[int]) -> dict[int, str]:
    """Switch ``channels`` of ``device`` off; what did not go off, by channel, and why."""
    if len(channels) == 1:
        return await _one_by_one(requester, device, channels)
    chunks = [channels[i : i + MAX_CHANNELS] for i in range(0, len(channels), MAX_CHANNELS)]
    if len(chunks) == 1:  # sent from this task, at once: a trip's switch-offs go out in its order
        left = [await _together(requester, device, channels)]
    else:
        left = await asyncio.gather(*(_together(requester, device, chunk) for chunk in chunks))
    again = [channel for chunk in left for channel in chunk]
    return await _one_by_one(requester, device, again) if again else {}


async def _together(requester: Requester, device: str, channels: list[int]) -> list[int]:
    """One command for all of ``channels``; those still to be switched off one by one."""
    topic = DeviceTopics(device).cmd(SWITCH)
    try:
        reply = await requester.send(topic, switch_off_payload(channels))
    except TimeoutError:
        problem = "no reply"
    else:
        if reply.ok:
            return []
        problem = f"{reply.reason}: {reply.message}"
    log.warning(
        "%s not switched off together (%s): switching them off one by one",
        describe(device, channels),
        problem,
    )
    return channels


async def _one_by_one(requester: Requester, device: str, channels: list[int]) -> dict[int, str]:
    problems = await asyncio.gather(*(_one(requester, ChannelRef(device, c)) for c in channels))
    return {channel: problem for channel, problem in zip(channels, problems, strict=True) if problem}


async def _one(requester: Requester, ref: ChannelRef) -> str | None:
    try:
        reply = await requester.send(DeviceTopics(ref.device).cmd(SWITCH, ref.channel), "off")
    except TimeoutError:
        return "no reply"
    return None if reply.ok else f"{reply.reason}: {reply.message}"
