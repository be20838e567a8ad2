"""Run a device's blocking calls in its own worker thread, with a timeout.

One thread per device serialises every call to the instrument (a status poll cannot
slip between a command's channel select and its write), and the event loop never
waits on hardware.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class DeviceTimeout(TimeoutError):
    """The instrument did not answer in time."""


class DeviceIO:
    """A single worker thread that owns one device."""

    def __init__(self, name: str, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"io-{name}")

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))
        try:
            async with asyncio.timeout(self.timeout):  # not wait_for: see gh-86296
                return await future
        except TimeoutError:
            raise DeviceTimeout(f"no answer within {self.timeout:g} s") from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
