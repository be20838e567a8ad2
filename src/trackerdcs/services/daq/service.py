"""The DAQ service: Ph2_ACF run control over MQTT.

It appears on the bus as a device does (availability, meta, status, replies) under its own
name. ``/<name>/cmd/start`` checks the request, the modules' states (their retained
``/<module>/status``) and the interlocks (``/interlock/inhibit``), writes the run's record,
then launches the stand's command; ``/<name>/cmd/stop`` interrupts it. An interlock that starts
to inhibit a module of the run, or a module that leaves the required state, stops the run.
Every run ends with its complete record in the run store (see :mod:`.record`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

from trackerdcs.bus.replies import send_reply
from trackerdcs.bus.session import honour_cancel, keep_connected, online_session, payload_bytes
from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.contract.payloads import (
    ONLINE,
    CommandRejected,
    Meta,
    Reason,
    Reply,
    dumps,
    reply_to,
    shorten,
)
from trackerdcs.contract.topics import DaqTopics, DeviceTopics, InterlockTopics, device_of
from trackerdcs.daq.tracker import FINAL, RunTracker, State, StopReason
from trackerdcs.runstore.outbox import Outbox
from trackerdcs.services.daq.checks import check_modules, check_request, inhibit_list, parse_start
from trackerdcs.services.daq.completion import Completion
from trackerdcs.services.daq.record import first_record, new_id
from trackerdcs.services.daq.runner import Launch, RunProcess
from trackerdcs.stand import Stand

log = logging.getLogger(__name__)

STATUS_PERIOD = 2.0  # s between status messages while a run goes (for `elapsed`)


@dataclass
class ActiveRun:
    id: str
    calibration: str
    modules: list[str]
    required: str
    request: dict[str, Any]
    started: float
    tracker: RunTracker = field(default_factory=RunTracker)
    process: RunProcess | None = None
    alarms: list[dict[str, Any]] = field(default_factory=list)


class DaqService:
    def __init__(
        self,
        stand: Stand,
        broker: BrokerSettings,
        store: Outbox,
        completion: Completion,
        workdir: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        assert stand.daq is not None
        self.stand, self.config, self.broker = stand, stand.daq, broker
        self.store, self.completion, self.workdir, self.clock = store, completion, workdir, clock
        self.topics = DaqTopics(self.config.name)
        self.interlock = InterlockTopics(stand.interlock.name)
        self.module_names = [m.name for m in stand.modules]
        self.states: dict[str, str] = {}
        self.reasons: dict[str, str] = {}
        self.inhibits: dict[str, list[str]] | None = None if stand.has_safety else {}
        self.current: ActiveRun | None = None
        self.last: dict[str, Any] = {"state": State.IDLE.value}
        self.connected = asyncio.Event()
        self.client: aiomqtt.Client | None = None
        self._seq = 0
        self._lock = asyncio.Lock()
        self._kick = asyncio.Event()
        self._run_task: asyncio.Task[None] | None = None
        self.pending = store.pending()

    async def run(self) -> None:
        delivery = asyncio.create_task(self._deliver())
        try:
            await keep_connected(self.config.name, self.broker, self._session)
        finally:
            if self._run_task is not None and not self._run_task.done():
                self._run_task.cancel()  # the run is interrupted and its record kept
                await asyncio.gather(self._run_task, return_exceptions=True)
            delivery.cancel()
            await asyncio.gather(delivery, return_exceptions=True)

    async def _session(self) -> None:
        await online_session(
            self.broker,
            self.topics.device,
            self.topics.availability,
            self._announce,
            lambda client: [self._receive(client), self._ticker()],
            self.connected,
        )

    async def _announce(self, client: aiomqtt.Client) -> None:
        self.client = client
        await client.subscribe(self.topics.cmd_filter, qos=1)
        for name in self.module_names:
            await client.subscribe(DeviceTopics(name).status, qos=1)
        await client.subscribe(self.interlock.inhibit, qos=1)
        await client.subscribe(self.interlock.events, qos=1)
        meta = Meta(
            kind="daq",
            driver=Path(self.config.command[0].replace("{python}", "python")).name,
            commands=["start", "stop"],
            period=STATUS_PERIOD,
        )
        await client.publish(self.topics.meta, meta.model_dump_json(), qos=1, retain=True)
        await client.publish(self.topics.availability, ONLINE, qos=1, retain=True)
        await self._publish_status()
        self.connected.set()
        log.info("daq %s: online on %s, workdir %s", self.config.name, self.broker.url, self.workdir)

    # -- inbound -------------------------------------------------------------------------
    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            topic, raw = message.topic.value, payload_bytes(message.payload)
            try:
                await self._dispatch(client, message, topic, raw)
            except Exception:  # no input may stop the service
                log.exception("daq: handling %s failed", topic)
            honour_cancel()

    async def _dispatch(
        self, client: aiomqtt.Client, message: aiomqtt.Message, topic: str, raw: bytes
    ) -> None:
        device = device_of(topic)
        if topic.startswith(self.topics.root + "/cmd/"):
            reply = await self._command(topic, raw)
            await send_reply(client, self.topics.reply, reply, message.properties)
        elif topic == self.interlock.inhibit:
            await self._on_inhibit(_json(raw))
        elif topic == self.interlock.events:
            self._on_alarm_event(_json(raw))
        elif device in self.module_names and topic == DeviceTopics(device).status:
            await self._on_module(device, _json(raw))

    async def _command(self, topic: str, raw: bytes) -> Reply:
        name = topic.removeprefix(self.topics.root + "/cmd/")
        text = shorten(raw[:64].decode("utf-8", "replace"))
        try:
            if name == "start":
                message = await self._start(raw)
            elif name == "stop":
                message = await self._stop()
            else:
                raise CommandRejected(
                    Reason.UNKNOWN_COMMAND, f"unknown command {name!r} (known: start, stop)"
                )
        except CommandRejected as exc:
            log.warning("%s %r rejected: %s", topic, text, exc.message)
            return reply_to(self.topics.device, topic, text, name, exc, self.clock())
        return reply_to(self.topics.device, topic, text, name, message, self.clock())

    async def _start(self, raw: bytes) -> str:
        request = parse_start(raw)
        if self.current is not None:
            run = self.current.tracker.run
            raise CommandRejected(
                Reason.BUSY, f"run {run or self.current.id} is {self.current.tracker.state}: stop it first"
            )
        modules = check_request(request, self.config, self.module_names)
        required = self.config.required_state(request.calibration)
        check_modules(modules, required, self.states, self.inhibits)
        now = self.clock()
        active = ActiveRun(
            new_id(self.stand.name, now), request.calibration, modules, required, request.model_dump(), now
        )
        config = request.config or self.config.config
        record = first_record(active.id, self.stand.name, active.request, modules, config, now)
        await asyncio.to_thread(self.store.keep, record)  # on disk before anything runs
        self._kick.set()
        self.current = active
        self._run_task = asyncio.create_task(self._execute(active, config))
        await self._event("starting", active)
        return f"run {active.id}: {request.calibration} on {', '.join(modules)} starting"

    async def _stop(self) -> str:
        active = self.current
        if active is None or active.process is None:
            return "no run is going"
        if active.process.request_stop(StopReason.OPERATOR, "stopped by the operator"):
            return f"run {active.tracker.run or active.id}: stopping (SIGINT)"
        return f"run {active.tracker.run or active.id}: already {active.tracker.state}"

    async def _on_inhibit(self, payload: Any) -> None:
        self.inhibits = inhibit_list(payload)
        active = self.current
        if active is None or active.process is None or self.inhibits is None:
            return
        for module in active.modules:
            rules = self.inhibits.get(module)
            if rules:
                self._interrupt(
                    active, StopReason.INTERLOCK, f"module {module}: inhibited by {', '.join(rules)}"
                )
                return

    async def _on_module(self, module: str, payload: Any) -> None:
        if not isinstance(payload, dict) or not isinstance(payload.get("state"), str):
            return
        state = self.states[module] = payload["state"]
        self.reasons[module] = str(payload.get("reason") or "")
        active = self.current
        if (
            active is None
            or active.process is None
            or module not in active.modules
            or state == active.required
        ):
            return
        if state == "INTERLOCKED":
            self._interrupt(
                active, StopReason.INTERLOCK, f"module {module}: {self.reasons[module] or 'interlocked'}"
            )
        else:
            self._interrupt(
                active,
                StopReason.MODULE_STATE,
                f"module {module} is {state}, the run needs {active.required}",
            )

    def _interrupt(self, active: ActiveRun, reason: StopReason, detail: str) -> None:
        assert active.process is not None
        if active.process.request_stop(reason, detail):
            log.warning("run %s: stopping: %s", active.tracker.run or active.id, detail)

    def _on_alarm_event(self, payload: Any) -> None:
        if self.current is None or not isinstance(payload, dict) or payload.get("event") != "raised":
            return
        found = payload.get("alarm")
        alarm: dict[str, Any] = found if isinstance(found, dict) else {}
        keep = {k: alarm.get(k) for k in ("id", "severity", "message", "value")}
        self.current.alarms.append({**keep, "ts": payload.get("ts")})

    # -- a run -----------------------------------------------------------------------------
    async def _execute(self, active: ActiveRun, config: str) -> None:
        c = self.config
        logs = self.workdir / "logs"
        values = {
            "config": config,
            "calibration": active.calibration,
            "workdir": str(self.workdir),
            "python": _python(),
            "run_id": active.id,
        }
        launch = Launch(
            argv=c.argv(values),
            workdir=self.workdir,
            env=_environment(c.env),
            logs=(logs / f"dcs-{active.id}.log", logs / f"dcs-{active.id}.stderr.log"),
            timeout=c.timeout_for(active.calibration),
            idle_timeout=c.idle_timeout,
            grace=c.stop_grace,
            tail=c.log_tail,
        )
        active.process = RunProcess(launch, active.tracker, self._changed)
        try:
            await active.process.execute()
        finally:
            await asyncio.shield(self._complete(active))

    async def _complete(self, active: ActiveRun) -> None:
        assert active.process is not None
        tracker = active.tracker
        process = active.process.process
        returncode = process.returncode if process is not None else None
        if tracker.state not in FINAL:
            tracker.ended(returncode)
        stop = self.clock()
        await self._publish_status()
        await self._event("ended", active, status=tracker.status, error_class=tracker.error_class)
        record = await asyncio.to_thread(self.completion.record, active, returncode, stop)
        await asyncio.to_thread(self.store.keep, record)
        self._kick.set()
        self.current = None
        log.info("run %s (%s): %s", tracker.run, active.id, tracker.status)
        await self._event("recorded", active, status=tracker.status)

    async def _changed(self) -> None:
        await self._publish_status()
        if self.current is not None:
            t = self.current.tracker
            await self._event("state", self.current, step=t.step)

    # -- outbound ----------------------------------------------------------------------------
    async def _deliver(self) -> None:
        """Deliver kept records to the store, in order, whenever one is added and every 2 s."""
        while True:
            try:
                async with asyncio.timeout(STATUS_PERIOD):
                    await self._kick.wait()
            except TimeoutError:
                pass
            self._kick.clear()
            pending = await asyncio.to_thread(self.store.flush)
            if pending != self.pending:
                self.pending = pending
                await self._publish_status()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(STATUS_PERIOD)
            if self.current is not None:
                await self._publish_status()
            honour_cancel()

    def _status_body(self) -> dict[str, Any]:
        active = self.current
        if active is not None:
            t = active.tracker
            self.last = {
                "state": t.state.value,
                "id": active.id,
                "run": t.run,
                "calibration": active.calibration,
                "modules": active.modules,
                "step": t.step,
                "started_at": active.started,
                "elapsed": round(self.clock() - active.started, 3),
                "error_class": t.error_class,
                "stop_reason": t.stop_reason,
                "stop_detail": t.stop_detail,
            }
        return {**self.last, "store_pending": self.pending}

    async def _publish_status(self) -> None:
        async with self._lock:
            body = {**self._status_body(), "ts": self.clock(), "seq": self._seq}
            if await self._publish(self.topics.status, body, retain=True):
                self._seq += 1

    async def _event(self, event: str, active: ActiveRun, **extra: Any) -> None:
        body = {
            "event": event,
            "id": active.id,
            "run": active.tracker.run,
            "calibration": active.calibration,
            "modules": active.modules,
            "state": active.tracker.state.value,
            **extra,
            "ts": self.clock(),
        }
        await self._publish(self.topics.events, body, retain=False)

    async def _publish(self, topic: str, body: dict[str, Any], retain: bool) -> bool:
        if self.client is None or (not self.connected.is_set() and topic != self.topics.status):
            return False
        try:
            await self.client.publish(topic, dumps(body), qos=1, retain=retain)
        except aiomqtt.MqttError as exc:  # the run goes on; the next status says where it is
            log.warning("daq: cannot publish %s: %s", topic, exc)
            return False
        return True


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _python() -> str:
    return sys.executable


def _environment(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **extra}
