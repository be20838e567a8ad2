"""The one service that puts any device on the MQTT bus.

It samples the device, publishes its retained status (at once on a change of state,
otherwise at the period), answers every command, and keeps running through broker
restarts: it reconnects with backoff and sends what it sampled in the meantime.

When a read of the device fails (an exception or a timeout), the device is in fault:
its status says ``state: "error"``, commands get ``device_error``, and the service
reopens the instrument with exponential backoff until a read succeeds again
(docs/decisions/0010).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiomqtt
from paho.mqtt.properties import Properties

from trackerdcs.bus.outbox import Outbox, Outgoing
from trackerdcs.bus.replies import send_reply
from trackerdcs.bus.session import honour_cancel, keep_connected, online_session, payload_bytes
from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.contract.payloads import ONLINE, Reply, encode_status
from trackerdcs.contract.topics import DeviceTopics
from trackerdcs.devices.base import Device, Sample
from trackerdcs.services.device.commands import CommandHandler
from trackerdcs.services.device.faults import Backoff, describe
from trackerdcs.services.device.guard import Guard
from trackerdcs.services.device.io_thread import DeviceIO
from trackerdcs.services.device.schedule import Schedule

log = logging.getLogger(__name__)

REPLIES_IN_FLIGHT = 64  # replies waiting for their PUBACK at once, per device


class DeviceService:
    """Runs one device until cancelled."""

    def __init__(
        self,
        device: Device,
        broker: BrokerSettings,
        *,
        buffer: int = 10_000,
        poll: float | None = None,
        io_timeout: float = 5.0,
        guard: Guard | None = None,
        backoff: Backoff | None = None,
        phase: float = 0.0,
    ) -> None:
        self.guard = guard
        self.device = device
        self.broker = broker
        self.topics = DeviceTopics(device.name)
        self.io = DeviceIO(device.name, io_timeout, blocking=device.blocking)
        self.outbox = Outbox(buffer)
        poll = poll if poll is not None else min(device.config.period, 0.25)
        self.schedule = Schedule(device.config.period, poll, phase)
        self.commands = CommandHandler(
            device, self.io, device.clock.time, self._rebirth, guard, fault=lambda: self.fault
        )
        self.fault: str | None = None  # why the device is in fault; None when healthy
        self.backoff = backoff if backoff is not None else Backoff()
        self.seq = 0
        self.connected = asyncio.Event()
        self._wake = asyncio.Event()
        self._replies: set[asyncio.Task[None]] = set()
        self._reply_slots = asyncio.Semaphore(REPLIES_IN_FLIGHT)
        self._last_key: tuple[object, ...] | None = None

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._sample_loop())
                tasks.create_task(keep_connected(self.device.name, self.broker, self._connected_session))
                if self.guard is not None and self.guard.require_heartbeat:
                    tasks.create_task(self._watchdog(self.guard, self.guard.require_heartbeat))
        finally:
            for task in list(self._replies):  # replies still waiting for a broker that is gone
                task.cancel()
            self.io.close()
            self.device.close()

    # -- sampling (runs whether or not the broker is reachable) -------------------------
    async def _sample_loop(self) -> None:
        while True:
            if self.fault is None:
                await self._sample_once()
            if self.fault is not None:  # commands do not shorten the backoff
                await asyncio.sleep(self.backoff.next_delay())
                await self._retry()
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.schedule.until_poll(self.device.clock.monotonic())):
                    await self._wake.wait()

    async def _sample_once(self, force: bool = False) -> None:
        if self.fault is not None:
            if force:
                self._publish_error()
            return
        due = force or self.schedule.due(self.device.clock.monotonic())
        try:
            if due:
                sample: Sample | None = await self.io.call(self.device.read)
            else:  # published only if its state changed
                sample = await self.io.call(self.device.read_if_changed, self._last_key)
        except Exception as exc:  # no fault of the instrument may end the service
            self._enter_fault(exc)
            return
        if sample is not None:
            self._publish_if_due(sample, force)

    def _publish_if_due(self, sample: Sample, force: bool) -> None:
        now = self.device.clock.monotonic()
        if force or self.schedule.due(now) or sample.key != self._last_key:
            self._publish_status(sample, now)

    def _publish_status(self, sample: Sample, now: float) -> None:
        payload = encode_status(sample.body, sample.ts, self.seq)
        self.seq += 1
        self._last_key = sample.key
        self.schedule.published(now)
        self.outbox.put(Outgoing(self.topics.status, payload))
        if self.guard is not None:
            self.guard.own_status(sample.body)

    # -- faults --------------------------------------------------------------------
    def _enter_fault(self, exc: BaseException) -> None:
        self.fault = describe(exc)
        log.error("%s: in fault, retrying with backoff: %s", self.device.name, self.fault)
        self._publish_error()

    async def _retry(self) -> None:
        """Reopen the instrument and read it; stay in fault while either fails."""
        try:
            await self.io.call(self.device.reconnect)
            sample = await self.io.call(self.device.read)
        except Exception as exc:
            reason = describe(exc)
            attempt = self.backoff.attempts
            log.warning("%s: still in fault (attempt %d): %s", self.device.name, attempt, reason)
            if reason != self.fault:
                self.fault = reason
                self._publish_error()
            return
        log.info("%s: recovered after %d attempts", self.device.name, self.backoff.attempts)
        self.fault = None
        self.backoff.reset()
        self._publish_if_due(sample, force=True)

    def _publish_error(self) -> None:
        assert self.fault is not None
        body = self.device.error_body(self.fault)
        sample = Sample(self.device.clock.time(), body, ("error", self.fault))
        self._publish_status(sample, self.device.clock.monotonic())

    async def _rebirth(self) -> None:
        self.outbox.put(Outgoing(self.topics.meta, self.device.meta().model_dump_json()))
        await self._sample_once(force=True)

    async def _watchdog(self, guard: Guard, limit: float) -> None:
        """Fail-safe: without the interlock's heartbeat, ramp every channel down."""
        tripped = False
        while True:
            await asyncio.sleep(min(limit / 4, 1.0))
            lost = guard.heartbeat_lost()
            if lost and not tripped:
                log.error(
                    "%s: no interlock heartbeat for %g s: ramping every channel down", self.device.name, limit
                )
                await self._switch_all_off()
            tripped = lost

    async def _switch_all_off(self) -> None:
        try:
            failed = await self.io.call(self.device.switch_off, self.device.channels)
        except Exception:
            log.exception("%s: could not switch its channels off", self.device.name)
            failed = {}
        for channel, exc in failed.items():
            log.error("%s: could not switch channel %d off: %s", self.device.name, channel, exc.message)
        self._wake.set()

    # -- connection ----------------------------------------------------------------
    async def _connected_session(self) -> None:
        await online_session(
            self.broker,
            self.device.name,
            self.topics.availability,
            self._announce,
            lambda client: [self._send_loop(client), self._receive_loop(client)],
            self.connected,
        )

    async def _announce(self, client: aiomqtt.Client) -> None:
        await client.subscribe(self.topics.cmd_filter, qos=1)
        await client.subscribe(self.topics.sim_filter, qos=1)
        for topic in self.guard.topics() if self.guard else []:
            await client.subscribe(topic, qos=1)
        await client.publish(self.topics.availability, ONLINE, qos=1, retain=True)
        await self._rebirth()
        self.connected.set()
        log.info("%s: online on %s", self.device.name, self.broker.url)

    async def _send_loop(self, client: aiomqtt.Client) -> None:
        while True:
            item = await self.outbox.peek()
            await client.publish(item.topic, item.payload, qos=item.qos, retain=item.retain)
            self.outbox.done(item)
            honour_cancel()

    async def _receive_loop(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            topic, raw = message.topic.value, payload_bytes(message.payload)
            if self.guard is not None and not topic.startswith(self.topics.root + "/"):
                self.guard.on_message(topic, raw)
                continue
            reply = await self.commands.handle(topic, raw)
            await self._send_reply(client, reply, message.properties)
            self._wake.set()
            honour_cancel()

    async def _send_reply(self, client: aiomqtt.Client, reply: Reply, request: Properties | None) -> None:
        """Hand the reply to a task: the next command is handled while its PUBACK is on the way.

        An interlock sends a switch-off to every channel at once; waiting for each reply's
        acknowledgement before taking the next command made 64 channels 128 round trips.
        At most REPLIES_IN_FLIGHT wait at a time, so a stalled broker cannot grow them.
        """
        await self._reply_slots.acquire()
        task = asyncio.create_task(self._publish_reply(client, reply, request))
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)

    async def _publish_reply(self, client: aiomqtt.Client, reply: Reply, request: Properties | None) -> None:
        own = (self.topics.cmd_filter[:-1], self.topics.sim_filter[:-1])  # never answer into our own commands
        try:
            await send_reply(client, self.topics.reply, reply, request, own)
        except aiomqtt.MqttError as exc:  # the session is gone; the receive loop ends it
            log.warning("%s: reply to %s not sent: %s", self.device.name, reply.topic, exc)
        finally:
            self._reply_slots.release()
