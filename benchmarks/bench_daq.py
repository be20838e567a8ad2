"""DAQ figures (issue 12), on the whole stack under `dcs up` with the Ph2_ACF simulator:

1. `start` published → the Ph2_ACF process running (the DAQ's status says `configuring`, which it
   publishes right after the process was spawned);
2. the run's last line of output (the log file's last write) → the complete record in the store;
3. `dcs runs show RUN` → its first line of output, with 10,000 runs stored (embedded and SecantusDB).

    python -m benchmarks.bench_daq [--runs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_stack import quantile
from tests.helpers import Probe, dcs_argv, decode, probe
from tests.mongo import MongoProcess
from tests.services.daq.stack import Stack, hv_on, online, start_stack, stop_stack
from trackerdcs.runstore.base import RunStore
from trackerdcs.runstore.embedded import EmbeddedStore
from trackerdcs.runstore.mongo import MongoStore
from trackerdcs.stand import default_stand_text


async def one_run(stack: Stack, p: Probe) -> tuple[float, float]:
    mark = p.mark()
    sent = time.time()
    await p.client.publish("/daq/cmd/start", '{"calibration": "pedenoise"}', qos=1)
    running = await p.wait_for(
        lambda m: m.topic.value == "/daq/status" and decode(m).get("state") == "configuring", start=mark
    )
    launched = decode(running)["ts"]
    reply = await p.wait_for(lambda m: m.topic.value == "/daq/reply", start=mark)
    run_id = decode(reply)["message"].split(":", 1)[0].removeprefix("run ")
    stored, log_file = await asyncio.to_thread(wait_record, stack, run_id)
    last_line = log_file.stat().st_mtime
    return launched - sent, stored - last_line


def wait_record(stack: Stack, run_id: str) -> tuple[float, Path]:
    """Poll the store every 2 ms until the run's final record is there; when, and its log file."""
    store = stack.store()
    try:
        while (record := store.get(run_id)) is None or record["status"] == "starting":
            time.sleep(0.002)
        return time.time(), Path(record["files"]["log"])
    finally:
        store.close()


async def stack_figures(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-daq-") as tmp:
        stack = start_stack(Path(tmp))
        try:
            async with probe(stack.broker) as p:
                await online(p, "daq")
                await hv_on(p)
                figures = [await one_run(stack, p) for _ in range(runs)]
        finally:
            stop_stack(stack)
    starts = sorted(f[0] * 1000 for f in figures)
    records = sorted(f[1] * 1000 for f in figures)
    print(
        f"start -> process running: median {statistics.median(starts):.1f} ms,"
        f" max {starts[-1]:.1f} ms ({runs} runs)"
    )
    print(
        f"last output line -> complete record in the store: median {statistics.median(records):.0f} ms,"
        f" p90 {quantile(records, 0.9):.0f} ms, max {records[-1]:.0f} ms ({runs} runs)"
    )


def fill(store: RunStore, n: int) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    conditions = [
        {
            "signal": s,
            "module": "M1",
            "count": 600,
            "min": 1.0,
            "max": 2.0,
            "mean": 1.5,
            "first": 1.0,
            "last": 2.0,
        }
        for s in ("hv:0.vmon", "hv:0.imon", "lv:0.vmon", "lv:0.imon", "env.temperature", "env.humidity")
    ]
    for i in range(n):
        t = start + dt.timedelta(minutes=10 * i)
        stop = t + dt.timedelta(minutes=5)
        tail = ["01.01.2026 10:00:00 |I| Halted"] * 30
        record = {"id": f"bench-{i}", "run": 1000 + i, "calibration": "pedenoise", "modules": ["M1"]}
        store.put(
            {**record, "status": "done", "start": t, "stop": stop, "conditions": conditions, "log_tail": tail}
        )


def first_output(argv: list[str]) -> float:
    began = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    proc.stdout.readline()
    took = time.perf_counter() - began
    proc.communicate()
    return took


def show_figures(n: int, repeats: int = 7) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-runs-") as tmp:
        root = Path(tmp)
        embedded = EmbeddedStore(root / "data" / "demo" / "runs.sqlite3")
        fill(embedded, n)
        embedded.close()
        argv = dcs_argv("runs", "show", str(1000 + n // 2), "--data-dir", str(root / "data"))
        times = sorted(first_output(argv) * 1000 for _ in range(repeats))
        print(
            f"dcs runs show, {n} runs, embedded: median {statistics.median(times):.0f} ms to the first line"
        )
        mongo = MongoProcess(root / "mongo")
        mongo.start()
        try:
            store = MongoStore(mongo.url)
            fill(store, n)
            store.close()
            demo = default_stand_text().replace(
                '# store = "mongodb://daq@127.0.0.1:27017/trackerdcs"', f'store = "{mongo.url}"'
            )
            (root / "stand.toml").write_text(demo)
            argv = dcs_argv("runs", "show", str(1000 + n // 2), "--config", str(root / "stand.toml"))
            times = sorted(first_output(argv) * 1000 for _ in range(repeats))
            print(
                f"dcs runs show, {n} runs, SecantusDB:"
                f" median {statistics.median(times):.0f} ms to the first line"
            )
        finally:
            mongo.stop()
        version = dcs_argv("--version")
        baseline = sorted(first_output(version) * 1000 for _ in range(repeats))
        print(f"for comparison, dcs --version: median {statistics.median(baseline):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--stored", type=int, default=10_000)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}")
    asyncio.run(stack_figures(args.runs))
    show_figures(args.stored)
    print(json.dumps({"done": True}))


if __name__ == "__main__":
    main()
