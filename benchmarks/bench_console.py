"""The console under the 10,240-channel stand, with 10 browsers' websockets (issue 13).

`dcs up` runs the scale benchmark's stand (160 simulated supplies of 64 channels at 1 s,
5,120 modules, a dew-point rule) with its console, exactly as a user starts it. Ten
websocket clients, each in a process of its own as browsers are, log in and follow
`/api/live`. Over the window this prints:

- the console process's CPU (cores) and memory (RSS);
- publish -> websocket delivery latency, median and p99: the time from a device's sample
  (its ``ts``, stamped just before it publishes) to its arrival in a client;
- the bytes per second each client receives.

Targets on this machine: p99 <= 1.5 s at the default 1 s coalescing, the console <= 0.25 cores.

Run: `.venv/bin/python -m benchmarks.bench_console [--devices 160] [--clients 10] [--window 60]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from pathlib import Path

import httpx
import orjson
import websockets

from benchmarks.bench_scale import cpu_seconds, memory, stack_pids, stand_text
from benchmarks.bench_stack import quantile
from tests.helpers import dcs_argv, free_port

URL_RE = re.compile(r"console\s+(http://\S+/login\?token=\S+)")


@dataclass
class Follower:
    """One browser's websocket: what it received, and how late each device status came."""

    start: float  # time.time() the window opens and closes
    end: float
    received: int = 0
    latencies: list[float] = field(default_factory=list)
    to_console: list[float] = field(default_factory=list)  # sample -> the console's update (its "now")

    def take(self, data: str | bytes) -> None:
        now = time.time()
        message = orjson.loads(data)
        if not self.start <= now < self.end or message.get("type") != "update":
            return
        self.received += len(data)
        for view in message.get("devices", {}).values():
            status = view.get("status")
            entry = status[0] if isinstance(status, list) and status else status
            if isinstance(entry, dict) and "ts" in entry:
                self.latencies.append(now - entry["ts"])
                self.to_console.append(message["now"] - entry["ts"])


async def follow(url: str, cookie: str, origin: str, follower: Follower) -> None:
    headers = {"Cookie": f"dcs_session={cookie}", "Origin": origin}
    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
        while time.time() < follower.end:
            with contextlib.suppress(TimeoutError):
                follower.take(await asyncio.wait_for(ws.recv(), 1.0))


def browser(url: str, cookie: str, origin: str, start: float, end: float, out: Queue[Follower]) -> None:
    """One client in a process of its own, as a browser is (and not one interpreter for ten)."""
    follower = Follower(start, end)
    asyncio.run(follow(url, cookie, origin, follower))
    out.put(follower)


def login(login_url: str) -> str:
    """The banner's URL: its redirect sets the session cookie."""
    http = httpx.Client(timeout=30.0)
    http.get(login_url)
    return http.cookies["dcs_session"]


def measure(base: str, cookie: str, console_pid: int, args: argparse.Namespace) -> None:
    context = multiprocessing.get_context("spawn")
    out: Queue[Follower] = context.Queue()
    start = time.time() + args.warmup  # a benchmark, not a test: let the snapshots and start-up pass
    end = start + args.window
    url = base.replace("http", "ws") + "api/live"
    clients = [
        context.Process(target=browser, args=(url, cookie, base.rstrip("/"), start, end, out))
        for _ in range(args.clients)
    ]
    for c in clients:
        c.start()
    time.sleep(max(0.0, start - time.time()))
    cpu0 = cpu_seconds(console_pid)
    time.sleep(args.window)
    cpu = (cpu_seconds(console_pid) - cpu0) / args.window
    rss, _ = memory(console_pid)
    followers = [out.get(timeout=60) for _ in clients]
    for c in clients:
        c.join(30)
    latencies = [x for f in followers for x in f.latencies]
    to_console = [x for f in followers for x in f.to_console]
    per_client = sum(f.received for f in followers) / len(followers) / args.window
    print(f"console: {cpu:.2f} cores, {rss / 2**20:.0f} MiB RSS, {len(followers)} websocket clients")
    print(
        f"publish -> websocket: median {quantile(latencies, 0.5):.2f} s, "
        f"p99 {quantile(latencies, 0.99):.2f} s over {len(latencies):,} device statuses"
    )
    print(
        f"  of which sample -> the console's update: median {quantile(to_console, 0.5):.2f} s, "
        f"p99 {quantile(to_console, 0.99):.2f} s (the device, the broker and the coalescing)"
    )
    print(f"per client: {per_client / 1e6:.2f} MB/s")


def console_pid(root: int) -> int:
    for pid in stack_pids(root):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"web" in argv and b"run" in argv:
            return pid
    raise SystemExit("no console process in the stack")


def run(args: argparse.Namespace, tmp: Path) -> None:
    stand = tmp / "scale.toml"
    stand.write_text(stand_text(args.devices, args.channels))
    web = free_port()
    argv = dcs_argv(
        "up", "--config", str(stand), "--mqtt-port", str(free_port()), "--web-port", str(web),
        "--data-dir", str(tmp / "data"),
    )  # fmt: skip
    log = (tmp / "stack.log").open("w")
    up = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert up.stdout is not None
        for line in up.stdout:
            if found := URL_RE.search(line):
                break
        else:
            raise SystemExit(f"dcs up ended: see {tmp / 'stack.log'}")
        print(f"stand: {args.devices} devices x {args.channels} channels = {args.devices * args.channels:,}")
        cookie = login(found.group(1))
        measure(f"http://127.0.0.1:{web}/", cookie, console_pid(up.pid), args)
    finally:
        up.send_signal(2)
        up.wait(120)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=160)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--window", type=float, default=60.0, help="s measured")
    parser.add_argument("--warmup", type=float, default=15.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run(args, Path(tmp))


if __name__ == "__main__":
    main()
