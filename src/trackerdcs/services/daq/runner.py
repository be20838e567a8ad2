"""One Ph2_ACF process: launched without a shell in its own process group, its stdout and stderr
read line by line into their log files and the run's tracker, stopped by SIGINT then SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from trackerdcs.daq.logline import parse_line
from trackerdcs.daq.tracker import RunTracker, StopReason
from trackerdcs.runtime.processes import interrupt_group, spawn_captured

log = logging.getLogger(__name__)

LOG_CAP = 64 << 20  # bytes of output kept per stream (Ph2_ACF caps its own logs at 16 MB)
DRAIN = 2.0  # s to read what is left in the pipes once the process has ended


@dataclass
class Launch:
    argv: list[str]
    workdir: Path
    env: dict[str, str]
    logs: tuple[Path, Path]  # stdout, stderr
    timeout: float  # s for the whole run
    idle_timeout: float  # s without a line of output
    grace: float  # s between SIGINT and SIGKILL
    tail: int  # lines kept for the record


class RunProcess:
    def __init__(self, launch: Launch, tracker: RunTracker, changed: Callable[[], Awaitable[None]]) -> None:
        self.launch = launch
        self.tracker = tracker
        self.changed = changed
        self.process: asyncio.subprocess.Process | None = None
        self.launched_at: float | None = None
        self.tails: tuple[deque[str], deque[str]] = (deque(maxlen=launch.tail), deque(maxlen=launch.tail))
        self._last_output = time.monotonic()
        self._stop = asyncio.Event()

    def request_stop(self, reason: StopReason, detail: str | None = None) -> bool:
        """Ask the run to stop; False if it is already stopping or over."""
        if self._stop.is_set() or self.tracker.state.value in ("done", "failed", "aborted"):
            return False
        self.tracker.stopping(reason, detail)
        self._stop.set()
        return True

    async def execute(self) -> int | None:
        """Run to the end; return asyncio's return code (negative: killed by that signal)."""
        launch = self.launch
        launch.logs[0].parent.mkdir(parents=True, exist_ok=True)
        try:
            self.process = await spawn_captured(launch.argv, str(launch.workdir), launch.env)
        except OSError as exc:
            self.tracker.failed_to_launch(f"cannot start {launch.argv[0]!r}: {exc.strerror or exc}")
            return None
        self.launched_at = time.time()
        self.tracker.launched()
        await self.changed()
        with launch.logs[0].open("wb") as out, launch.logs[1].open("wb") as err:
            assert self.process.stdout is not None
            assert self.process.stderr is not None
            readers = [
                asyncio.create_task(self._read(self.process.stdout, out, self.tails[0])),
                asyncio.create_task(self._read(self.process.stderr, err, self.tails[1])),
            ]
            try:
                return await self._supervise(self.process)
            finally:
                await self._drain(readers)

    async def _supervise(self, process: asyncio.subprocess.Process) -> int | None:
        name = f"run {self.tracker.run or '?'} ({self.launch.argv[0]})"
        watchdog = asyncio.create_task(self._watchdog())
        ended = asyncio.create_task(process.wait())
        stopping = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({ended, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not ended.done():
                await self.changed()
                await interrupt_group(process, name, self.launch.grace)
        except asyncio.CancelledError:
            self.tracker.stopping(StopReason.SERVICE_STOPPED)
            await asyncio.shield(interrupt_group(process, name, self.launch.grace))
            raise
        finally:
            for task in (watchdog, ended, stopping):
                task.cancel()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                # what the program left behind in its group (a container runtime's helpers)
                if process.returncode is not None:
                    signal_group_members(process.pid)
        return process.returncode

    async def _watchdog(self) -> None:
        started = time.monotonic()
        while True:
            await asyncio.sleep(0.2)
            now = time.monotonic()
            if now - started > self.launch.timeout:
                self.request_stop(StopReason.RUN_TIMEOUT, f"run timeout of {self.launch.timeout:g} s")
            elif now - self._last_output > self.launch.idle_timeout:
                self.request_stop(StopReason.IDLE_TIMEOUT, f"no output for {self.launch.idle_timeout:g} s")

    async def _read(self, stream: asyncio.StreamReader, sink: BinaryIO, tail: deque[str]) -> None:
        written = 0
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # a line over the reader's limit: take it in pieces
                raw = await stream.read(1 << 20)
            if not raw:
                return
            self._last_output = time.monotonic()
            if written < LOG_CAP:
                sink.write(raw)
                sink.flush()
                written += len(raw)
            line = parse_line(raw.decode("utf-8", "replace"))
            tail.append(
                line.text if line.local_time is None else f"{line.local_time} |{line.level}| {line.text}"
            )
            if self.tracker.feed(line):
                await self.changed()

    async def _drain(self, readers: list[asyncio.Task[None]]) -> None:
        done, pending = await asyncio.wait(readers, timeout=DRAIN)
        for task in pending:  # a child of the program still holds the pipe open
            task.cancel()
        for task in done:
            if task.exception() is not None:
                log.warning("reading the run's output failed: %s", task.exception())


def signal_group_members(pgid: int) -> None:
    os.killpg(pgid, signal.SIGKILL)
