"""Child processes: started in their own process group, dying with their parent, always stopped."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
AUTOGROUP = "/proc/self/autogroup"
AUTOGROUP_TRIES = 10  # the kernel takes one change per 100 ms (see lower_priority)


def die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the child gets SIGTERM if the stack itself is killed, so none is left behind."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


async def spawn(
    argv: list[str], env: dict[str, str] | None = None, nice: int = 0
) -> asyncio.subprocess.Process:
    """Start a child in its own process group, so Ctrl-C reaches only the stack,
    which then stops the children in order (devices first, broker last).

    ``env``: variables added to ours (a secret goes here, never on the command line).
    ``nice``: how much lower the child's CPU priority is than ours (0: the same); see
    :func:`lower_priority`.
    """
    environment = {**os.environ, **env} if env else None

    def prepare() -> None:  # pragma: no cover - runs in the child
        die_with_parent()
        if nice:
            lower_priority(nice)

    return await asyncio.create_subprocess_exec(
        *argv, start_new_session=True, preexec_fn=prepare, env=environment
    )


def lower_priority(nice: int) -> None:  # pragma: no cover - runs in the child
    """Lower this process's CPU priority by ``nice``, also against processes of other sessions.

    Where the kernel groups processes by session (``CONFIG_SCHED_AUTOGROUP``, on in Debian's
    and Ubuntu's kernels), the scheduler shares the CPU between the groups first, and a
    process's own nice value counts only within its group. A child in a session of its own
    is its group's only member, so ``os.nice`` alone changed nothing: the group's nice value
    has to be lowered too. That needs no privilege, but the kernel takes one such change
    per 100 ms from an unprivileged user and refuses the others (EAGAIN), so we retry.
    """
    with contextlib.suppress(OSError):
        os.nice(nice)
    for _ in range(AUTOGROUP_TRIES):
        try:
            with open(AUTOGROUP, "w") as group:
                group.write(str(nice))
            return
        except BlockingIOError:
            time.sleep(0.05)
        except OSError:  # no autogroups here
            return


async def stop(process: asyncio.subprocess.Process, name: str, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        async with asyncio.timeout(grace):
            await process.wait()
    except TimeoutError:
        log.warning("%s did not stop in %.0f s: killing it", name, grace)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


async def finish(stopping: Coroutine[Any, Any, None]) -> None:
    """Run ``stopping`` to its end even if the caller is cancelled again meanwhile.

    A plain ``asyncio.shield`` returns at the second cancellation and leaves the stop
    running unattended, so the loop may close before the child is gone.
    """
    task = asyncio.ensure_future(stopping)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


async def spawn_captured(argv: list[str], cwd: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    """Start a program in its own process group, no shell, stdout and stderr as separate pipes.

    Lines of up to 1 MiB are read whole (asyncio's default limit is 64 KiB).
    """
    return await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=die_with_parent,
        limit=1 << 20,
    )


def signal_group(process: asyncio.subprocess.Process, sig: int) -> bool:
    """Send ``sig`` to the child's whole process group (it leads one: see :func:`spawn_captured`)."""
    if process.returncode is not None:
        return False
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def interrupt_group(process: asyncio.subprocess.Process, name: str, grace: float) -> None:
    """SIGINT to the group, then SIGKILL to the group after ``grace`` seconds."""
    signal_group(process, signal.SIGINT)
    try:
        async with asyncio.timeout(grace):
            await process.wait()
    except TimeoutError:
        log.warning("%s did not stop %.0f s after SIGINT: killing its process group", name, grace)
        signal_group(process, signal.SIGKILL)
        await process.wait()


async def cancel_and_wait(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel each task once and wait until all have ended, even if we are cancelled meanwhile."""
    for task in tasks:
        task.cancel()
    await finish(_gather(tasks))


async def _gather(tasks: list[asyncio.Task[None]]) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)
