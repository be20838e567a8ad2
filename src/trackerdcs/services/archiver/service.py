"""The archiver service: every status, availability and alarm event, stored.

Messages arrive on the :class:`Ingest` thread and go to the on-disk spool before they
are acknowledged. The writer task below stores sealed spool segments in order; while
the database is away it backs off and the spool grows (bounded), and when it returns
the backlog is replayed. The archiver is itself on the bus as ``/archive``: its
availability, and a status with its counters (``spool_full`` lets a safety rule raise
an alarm), and it asks a device to publish its state again when it sees a gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import aiomqtt

from trackerdcs.archive.backend import Rejected, Unavailable
from trackerdcs.archive.open import check_archive
from trackerdcs.archive.points import ARCHIVED_LEAVES
from trackerdcs.archive.prepare import Prepared
from trackerdcs.archive.spool import Spool
from trackerdcs.archive.store import SegmentStore
from trackerdcs.archive.url import ArchiveTarget
from trackerdcs.archive.worker import store_segment
from trackerdcs.bus.session import honour_cancel, keep_connected, online_session
from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.contract.payloads import ONLINE, dumps, stamp_status
from trackerdcs.contract.topics import ARCHIVER, PH2ACF_DATA, DeviceTopics, wildcard
from trackerdcs.runtime.processes import die_with_parent
from trackerdcs.services.archiver.ingest import Ingest

log = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT = 10.0
REBIRTH_EVERY = 10.0  # s: at most one rebirth request per device in this time
WRITE_AHEAD = 2  # segments handed to the worker at once (it stores them in order)


@dataclass(frozen=True)
class ArchiverSettings:
    spool_dir: Path
    spool_max_bytes: int = 1 << 30
    segment_bytes: int = 1 << 20
    segment_age: float = 0.1  # s: a sample is stored at most about this long after it arrives
    status_period: float = 2.0
    name: str = ARCHIVER
    workers: int = 2  # processes that store segments (one encodes while the other writes); 0: a thread


class Archiver:
    def __init__(self, target: ArchiveTarget, broker: BrokerSettings, settings: ArchiverSettings) -> None:
        self.target = target
        self.broker = broker
        self.settings = settings
        self.topics = DeviceTopics(settings.name)
        self.backend_up = True
        self.connected = asyncio.Event()
        self._ready = asyncio.Event()
        self._rebirths: dict[str, float] = {}
        self._control: aiomqtt.Client | None = None
        s = settings
        self.spool = Spool(s.spool_dir, s.spool_max_bytes, s.segment_bytes, s.segment_age)
        self.store = SegmentStore(self.spool)
        filters = [wildcard(leaf) for leaf in ARCHIVED_LEAVES] + [PH2ACF_DATA]
        # a fixed client id per spool, so the broker keeps the session across restarts
        identifier = f"dcs-{s.name}-{s.spool_dir.resolve().name}"
        self.ingest = Ingest(broker, identifier, filters, self.spool.append)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        # an archive this code cannot write (a newer schema) stops it here, before it
        # takes any message; an older SQLite schema is migrated here, once
        await asyncio.to_thread(check_archive, self.target)
        self.spool.on_sealed = lambda: _wake(loop, self._ready)
        self.ingest.start()
        log.info("archiving into %s, spool %s", self.target.describe(), self.settings.spool_dir)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._writer(self.store))
                tasks.create_task(self._sealer(self.spool))
                tasks.create_task(keep_connected(self.settings.name, self.broker, self._control_session))
        finally:
            await asyncio.to_thread(self._shutdown)

    def _shutdown(self) -> None:
        # The spool first: it releases an MQTT thread waiting for room in a full spool
        # (that message stays unacknowledged, so the broker delivers it again).
        self.spool.close()
        self.ingest.stop()

    # -- storing ---------------------------------------------------------------------------
    async def _writer(self, store: SegmentStore) -> None:
        """Store sealed segments, oldest first, through a worker process.

        The worker parses, encodes and writes; this process only deletes a segment once
        the worker reports it stored. After a database outage the spool is replayed in
        order (a segment already handed over when a write failed may land before the
        failed one: harmless, every point carries its own time).
        """
        loop = asyncio.get_running_loop()
        running: dict[int, asyncio.Future[Prepared]] = {}
        backoff = 0.2
        with Workers(self.settings.workers) as pool:
            while True:
                for segment in self.spool.sealed()[:WRITE_AHEAD]:
                    if segment not in running:
                        path = str(self.spool.path(segment))
                        running[segment] = loop.run_in_executor(
                            pool.executor, store_segment, path, self.target
                        )
                if not running:
                    await self._wait_for_segments()
                    continue
                segment = min(running)
                try:
                    prepared = await running.pop(segment)
                except Unavailable as exc:
                    self._database_down(exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                except Rejected as exc:
                    store.rejected(segment, exc)
                    continue
                except Exception:  # a bug or a dead worker must not stop the archive: retry
                    log.exception("archive: storing spool segment %d failed; retrying", segment)
                    pool = pool.renew()
                    running.clear()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                gaps = store.stored(segment, prepared)
                if not self.backend_up:
                    log.warning("archive database back; replaying the spool")
                self.backend_up, backoff = True, 0.2
                await self._ask_rebirth(gaps)

    async def _wait_for_segments(self) -> None:
        self._ready.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.segment_age * 5):
                await self._ready.wait()

    def _database_down(self, exc: Exception) -> None:
        if self.backend_up:
            log.error("archive database unavailable, spooling to disk: %s", exc)
        self.backend_up = False

    async def _sealer(self, spool: Spool) -> None:
        while True:
            await asyncio.sleep(self.settings.segment_age / 2)
            await asyncio.to_thread(spool.seal_if_old)

    async def _ask_rebirth(self, devices: set[str]) -> None:
        now = time.monotonic()
        for device in sorted(devices):
            log.warning("archive: gap in %s's sequence numbers; asking it to publish its state again", device)
            if self._control is None or now - self._rebirths.get(device, -REBIRTH_EVERY) < REBIRTH_EVERY:
                continue
            self._rebirths[device] = now
            with contextlib.suppress(aiomqtt.MqttError):
                await self._control.publish(DeviceTopics(device).cmd("rebirth"), b"", qos=1)

    # -- on the bus --------------------------------------------------------------------------
    async def _control_session(self) -> None:
        await online_session(
            self.broker,
            self.settings.name,
            self.topics.availability,
            self._announce,
            lambda client: [self._status_loop(client)],
            self.connected,
        )

    async def _announce(self, client: aiomqtt.Client) -> None:
        """Say online only once the ingest is subscribed: from then on nothing is missed."""
        if not await asyncio.to_thread(self.ingest.connected.wait, SUBSCRIBE_TIMEOUT):
            log.warning("archiver: not subscribed after %g s; still trying", SUBSCRIBE_TIMEOUT)
        self._control = client
        await client.publish(self.topics.availability, ONLINE, qos=1, retain=True)
        self.connected.set()

    async def _status_loop(self, client: aiomqtt.Client) -> None:
        seq = 0
        try:
            while True:
                body = stamp_status([self.status()], time.time(), seq)
                await client.publish(self.topics.status, dumps(body), qos=1, retain=True)
                seq += 1
                honour_cancel()
                await asyncio.sleep(self.settings.status_period)
        finally:
            self._control = None

    def status(self) -> dict[str, float | int | str]:
        c = self.store.counters
        return {
            "number": 0,
            "received": self.ingest.received,
            "stored": c.stored,
            "messages": c.messages,
            "rejected": c.rejected_messages,
            "bad_messages": c.bad_messages,
            "gaps": c.gaps.total,
            "pending_segments": len(self.spool.sealed()),
            "spool_bytes": self.spool.size,
            "spool_full": int(self.spool.full),
            "database_up": int(self.backend_up),
            "backend": self.target.scheme,
        }


def _wake(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
    """Set an asyncio event from another thread (the spool seals on the MQTT thread)."""
    loop.call_soon_threadsafe(event.set)


class Workers:
    """Processes that encode segments: parsing is CPU work, and the GIL is the archiver's.

    Started with "spawn", not "fork": forking a process that runs the MQTT thread could
    copy a lock that thread holds. Each worker dies with the archiver, even a killed
    one (no orphan keeps running). ``workers=0`` stores in a thread instead.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.executor: Executor = self._start()

    def _start(self) -> Executor:
        if self.workers == 0:
            return ThreadPoolExecutor(1, thread_name_prefix="archive-encode")
        return ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent
        )

    def renew(self) -> Workers:
        """A fresh pool after a failure (a worker that died breaks the whole pool)."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._start()
        return self

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
