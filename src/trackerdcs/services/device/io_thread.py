"""Run a device's blocking calls in its own worker thread, with a timeout.

One thread per device runs every call to the instrument, and the event loop never
waits on hardware. A call that hangs past the timeout leaves its thread behind: the
next call gets a fresh worker, so a hung call cannot block the service's recovery
(see docs/decisions/0011). Drivers serialise their I/O with one lock per instrument,
which also covers the abandoned thread until its call returns.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger(__name__)

Job = tuple[Callable[[], Any], "concurrent.futures.Future[Any]"]


class DeviceTimeout(TimeoutError):
    """The instrument did not answer in time."""


class _Worker:
    """One daemon thread running jobs in order (a daemon: a hung call never blocks exit)."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], T]) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((fn, future))
        return future

    def stop(self) -> None:
        self._jobs.put(None)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue  # its caller timed out while it waited
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller, who decides
                future.set_exception(exc)


class DeviceIO:
    """A worker thread that owns one device; or, for a device that does no I/O, none.

    ``blocking=False`` (a simulator) runs each call on the event loop: it only computes,
    cannot hang, and a host of 20 simulated supplies spent more of its time handing the
    GIL between 20 worker threads than in the simulators (docs/decisions/0031).
    """

    def __init__(self, name: str, timeout: float = 5.0, blocking: bool = True) -> None:
        self.name = name
        self.timeout = timeout
        self.abandoned = 0  # worker threads left behind by hung calls
        self._worker = _Worker(f"io-{name}") if blocking else None

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._worker is None:
            return fn(*args, **kwargs)
        future = self._worker.submit(lambda: fn(*args, **kwargs))
        try:
            async with asyncio.timeout(self.timeout):  # not wait_for: see gh-86296
                return await asyncio.wrap_future(future)
        except TimeoutError:
            future.cancel()  # a call still queued never runs
            if future.running():  # the thread hangs in the call
                self._replace_worker()
            raise DeviceTimeout(f"no answer within {self.timeout:g} s") from None

    def _replace_worker(self) -> None:
        self.abandoned += 1
        log.warning("%s: a call hangs past %g s; leaving its thread behind", self.name, self.timeout)
        if self._worker is not None:
            self._worker.stop()
        self._worker = _Worker(f"io-{self.name}-{self.abandoned}")

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
