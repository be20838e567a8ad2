"""A supervised child: restarted with backoff whenever it exits on its own, for as long as the stack runs."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from trackerdcs.runtime.processes import finish, spawn, stop

log = logging.getLogger(__name__)

RESTART_MIN, RESTART_MAX = 0.5, 10.0
STABLE_AFTER = 30.0  # s a child must run before its backoff starts over
CRASH_LOOP = 5  # this many exits ...
CRASH_WINDOW = 120.0  # ... within this many seconds: the child keeps dying, and we say so

OnExit = Callable[["Supervised", int], Awaitable[None]]
EXIT_CONFIG = 2  # what `dcs` exits with on a bad stand file or option: retrying cannot help


class StartFailed(RuntimeError):
    """A child refused its configuration while the stack was starting: nothing should run."""


class Supervised:
    """A child that is restarted with backoff whenever it exits on its own.

    It is never given up on: a child that keeps dying is reported (an error in the log,
    and ``offline`` through ``on_exit``) and retried every ``max_delay`` seconds, since a
    stand must not be left half-watched because one part keeps failing.
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        availability: Sequence[str] | None = None,
        min_delay: float = RESTART_MIN,
        max_delay: float = RESTART_MAX,
        on_exit: OnExit | None = None,
        env: dict[str, str] | None = None,
        nice: int = 0,
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.nice = nice
        self.availability = (
            tuple(availability) if availability is not None else (name,)
        )  # what it puts online
        self.min_delay, self.max_delay = min_delay, max_delay
        self.on_exit = on_exit
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.starting = True  # the stack clears this once it is up: from then on, always restart
        self._exits: deque[float] = deque(maxlen=CRASH_LOOP)

    async def start(self) -> asyncio.subprocess.Process:
        self.process = await spawn(self.argv, self.env, self.nice)
        return self.process

    async def run(self) -> None:
        """Run (or keep running the process :meth:`start` began) until cancelled; then stop it."""
        loop = asyncio.get_running_loop()
        delay = self.min_delay
        try:
            while True:
                started = loop.time()
                code = await self._run_once()
                if code == EXIT_CONFIG and self.starting:
                    raise StartFailed(f"{self.name} refused its configuration (exit code {code}): see above")
                if loop.time() - started > STABLE_AFTER:
                    delay = self.min_delay
                self.restarts += 1
                self._report(code, delay, loop.time())
                if self.on_exit is not None:
                    await self.on_exit(self, code)
                await asyncio.sleep(delay)
                delay = min(max(delay * 2, RESTART_MIN), self.max_delay)
        finally:
            if self.process is not None:
                await finish(stop(self.process, self.name))

    async def _run_once(self) -> int:
        """Run the child (or the one :meth:`start` began) until it exits; its exit code."""
        process = self.process
        if process is None or process.returncode is not None:
            try:
                process = await self.start()
            except OSError as exc:  # a missing or unrunnable executable: retried like an exit
                log.error("%s could not be started: %s", self.name, exc)
                return -1
        return await process.wait()

    def _report(self, code: int, delay: float, now: float) -> None:
        self._exits.append(now)
        looping = len(self._exits) == CRASH_LOOP and now - self._exits[0] < CRASH_WINDOW
        if looping:
            log.error(
                "%s keeps dying: %d exits in %.0f s (last code %s); still retrying, in %.1f s",
                self.name,
                CRASH_LOOP,
                now - self._exits[0],
                code,
                delay,
            )
        else:
            log.error("%s exited with code %s; restarting in %.1f s", self.name, code, delay)
