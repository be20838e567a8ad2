"""A supervised child: restarted with backoff whenever it exits on its own."""

from __future__ import annotations

import asyncio
import logging

from trackerdcs.runtime.processes import spawn, stop

log = logging.getLogger(__name__)

RESTART_MIN, RESTART_MAX = 0.5, 10.0


class Supervised:
    """A child that is restarted with backoff whenever it exits on its own."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.argv = argv
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0

    async def run(self) -> None:
        delay = RESTART_MIN
        try:
            while True:
                self.process = await spawn(self.argv)
                started = asyncio.get_running_loop().time()
                code = await self.process.wait()
                if asyncio.get_running_loop().time() - started > 30:
                    delay = RESTART_MIN
                self.restarts += 1
                log.error("%s exited with code %s; restarting in %.1f s", self.name, code, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESTART_MAX)
        finally:
            if self.process is not None:
                await asyncio.shield(stop(self.process, self.name))
