"""Benchmark the archive on this machine; the figures go in the README.

Everything runs here at once: mosquitto, InfluxDB 1.x, the publishers and the
archiver (`dcs archive run`, its own process), as on a lab PC.

1. Direct-ingest ceiling: line-protocol batches of the archiver's shape written
   straight to InfluxDB over HTTP (one connection, as the archiver writes, and two).
2. Through the archive: publishers send N status messages of K channels at a fixed
   rate through mosquitto; the archiver stores them. Reported: points stored per
   second (from the first publish until every point is queryable), and the latency
   from publish to queryable, median and p99 (a poller asks InfluxDB for the newest
   stored time every 10 ms: resolution about 10 ms).
3. The same through the embedded SQLite backend (rate only).

Run: `make bench` (or `.venv/bin/python -m benchmarks.bench_archive --help`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import urllib3

from benchmarks.status_publisher import channels
from tests.helpers import BrokerProcess, dcs_argv, wait_until
from tests.influx import InfluxProcess
from trackerdcs.archive import lineproto
from trackerdcs.archive.open import open_backend
from trackerdcs.archive.url import parse_archive_url


def direct_ceiling(influx: InfluxProcess, k: int, points: int, batch: int, connections: int) -> float:
    """Points/s written straight to InfluxDB in batches of ``batch`` lines."""
    t0 = time.time_ns()
    lines = [
        lineproto.line("direct", {"number": str(c)}, {**e, "number": 0} | {}, t0 + i * 1000)
        for i in range(points // k)
        for c, e in enumerate(channels(k, i))
    ]
    lines = [text for text in lines if text]
    bodies = [lineproto.encode(lines[i : i + batch]) for i in range(0, len(lines), batch)]
    http = urllib3.PoolManager(maxsize=connections)
    url = f"http://127.0.0.1:{influx.port}"
    http.request("POST", f"{url}/query", fields={"q": f"CREATE DATABASE d{connections}"})

    def write(part: list[bytes]) -> None:
        for body in part:
            r = http.request("POST", f"{url}/write?db=d{connections}&precision=ns", body=body)
            assert r.status == 204, r.data

    threads = [threading.Thread(target=write, args=(bodies[j::connections],)) for j in range(connections)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(lines) / (time.perf_counter() - start)


def run_publishers(port: int, n: int, k: int, rate: float, publishers: int, workdir: Path) -> list[list[float]]:
    procs, outs = [], []
    for j in range(publishers):
        out = workdir / f"pub{j}.json"
        argv = [sys.executable, "-m", "benchmarks.status_publisher", str(port), str(n // publishers), str(k)]
        procs.append(subprocess.Popen([*argv, str(rate / publishers), f"bench{j}", str(out)]))
        outs.append(out)
    for p in procs:
        assert p.wait(600) == 0
    return [json.loads(o.read_text())["times"] for o in outs]


class Poller(threading.Thread):
    """Asks InfluxDB for the newest stored time of each publisher's measurement."""

    def __init__(self, port: int, measurements: list[str]) -> None:
        super().__init__(daemon=True)
        self.http = urllib3.PoolManager()
        self.url = f"http://127.0.0.1:{port}/query"
        self.measurements = measurements
        self.seen: dict[str, list[tuple[float, float]]] = {m: [] for m in measurements}  # (wall, newest ts)
        self.stop = threading.Event()

    def newest(self, measurement: str) -> float | None:
        q = f'SELECT last("vmon") FROM "{measurement}" WHERE time > now() - 5m'
        r = self.http.request("GET", self.url, fields={"db": "bench", "q": q, "epoch": "ns"})
        series = json.loads(r.data)["results"][0].get("series")
        return series[0]["values"][0][0] / 1e9 if series else None

    def run(self) -> None:
        while not self.stop.wait(0.01):
            for m in self.measurements:
                newest = self.newest(m)
                if newest is not None:
                    self.seen[m].append((time.time(), newest))

    def latencies(self, times: dict[str, list[float]]) -> list[float]:
        out = []
        for m, published in times.items():
            seen, j = self.seen[m], 0
            for t in published:
                while j < len(seen) and seen[j][1] < t - 1e-6:
                    j += 1
                if j < len(seen):
                    out.append(seen[j][0] - t)
        return out


def through_archive(
    broker: BrokerProcess, url: str, args: argparse.Namespace, workdir: Path, count: Callable[[], int]
) -> tuple[float, list[float], Poller | None]:
    argv = dcs_argv("archive", "run", "--broker", broker.url, "--archive", url, "--data-dir", str(workdir), "-q")
    archiver = subprocess.Popen(argv)
    try:
        time.sleep(2.0)  # let it subscribe (a benchmark, not a test)
        names = [f"bench{j}" for j in range(args.publishers)]
        poller = Poller(args.influx_port, names) if url.startswith("influxdb") else None
        if poller:
            poller.start()
        total = (args.n // args.publishers) * args.publishers * args.k
        start = time.perf_counter()
        times = run_publishers(broker.port, args.n, args.k, args.rate, args.publishers, workdir)
        wait_until(lambda: count() >= total, timeout=600, what="every point stored")
        rate = total / (time.perf_counter() - start)
        lat: list[float] = []
        if poller:
            poller.stop.set()
            poller.join()
            lat = poller.latencies(dict(zip(names, times, strict=True)))
        return rate, lat, poller
    finally:
        archiver.terminate()
        archiver.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=60_000, help="status messages")
    parser.add_argument("--k", type=int, default=32, help="channels per message")
    parser.add_argument("--rate", type=float, default=4_000, help="messages/s, all publishers together")
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--sqlite-n", type=int, default=6_000, help="messages for the SQLite run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = BrokerProcess("mosquitto", work / "broker")
        influx = InfluxProcess(work / "influx")
        broker.start()
        influx.start()
        args.influx_port = influx.port
        try:
            report(broker, influx, args, work)
        finally:
            broker.stop()
            influx.stop()


def report(broker: BrokerProcess, influx: InfluxProcess, args: argparse.Namespace, work: Path) -> None:
    batch = (1 << 20) // (len(json.dumps(channels(args.k, 0))) // args.k) // 1  # lines in a 1 MiB segment
    one = direct_ceiling(influx, args.k, 400_000, batch, 1)
    two = direct_ceiling(influx, args.k, 400_000, batch, 2)
    print(f"InfluxDB direct ingest, batches of {batch} lines: {one:,.0f} points/s (1 connection), {two:,.0f} (2)")
    url = influx.url("bench")
    db = open_backend(parse_archive_url(url))
    names = [f"bench{j}" for j in range(args.publishers)]
    rate, lat, _ = through_archive(broker, url, args, work / "a", lambda: sum(db.count(m) for m in names))
    offered = args.rate * args.k
    print(f"Through mosquitto and the archiver: {rate:,.0f} points/s stored (offered {offered:,.0f}/s), ")
    print(f"  {args.n:,} messages x {args.k} channels = {args.n * args.k:,} points; ratio to the ceiling:")
    print(f"  {rate / max(one, two):.2f} (best direct), {rate / one:.2f} (1 connection)")
    lat.sort()
    if lat:
        p99 = lat[int(0.99 * (len(lat) - 1))]
        print(f"  publish -> queryable: median {1000 * statistics.median(lat):.0f} ms, p99 {1000 * p99:.0f} ms")
    sq_url = f"sqlite:///{work / 's' / 'archive.sqlite3'}"
    args.n, args.rate = args.sqlite_n, min(args.rate, 1000.0)
    sq = open_backend(parse_archive_url(sq_url)) if False else None
    del sq

    def sqlite_count() -> int:
        path = work / "s" / "archive.sqlite3"
        if not path.exists():
            return 0
        backend = open_backend(parse_archive_url(sq_url))
        try:
            return sum(backend.count(m) for m in names)
        finally:
            backend.close()

    srate, _, _ = through_archive(broker, sq_url, args, work / "s", sqlite_count)
    print(f"Embedded SQLite backend: {srate:,.0f} points/s stored (offered {args.rate * args.k:,.0f}/s)")


if __name__ == "__main__":
    main()
