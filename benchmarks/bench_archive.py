"""Benchmark the archive on this machine; the figures go in the README.

Everything runs here at once, as on a lab PC: mosquitto, InfluxDB 1.x, the publishers
and the archiver (`dcs archive run`, its own process and its encoding worker).

1. Direct-ingest ceiling: line-protocol batches of the archiver's shape and size
   written straight to InfluxDB over HTTP, with one connection (as the archiver
   writes) and with two.
2. Through the archive: publisher processes send N status messages of K channels at a
   fixed total rate through mosquitto (QoS 1, as the device services do); the
   archiver stores them. Reported: points stored per second, from the first publish
   until the last point is queryable; the latency from publish to queryable, median
   and p99 (a poller asks InfluxDB every 10 ms for the newest stored time, so the
   resolution is about 10 ms); and the CPU each process used per 1,000 points.
3. The same through the embedded SQLite backend, at its own rate: points stored per
   second (until `count` finds every point) and CPU per 1,000 points.

Run: `make bench` (or `.venv/bin/python -m benchmarks.bench_archive --help`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import urllib3

from benchmarks.status_publisher import channels
from tests.helpers import BrokerProcess, children_of, dcs_argv, wait_until
from tests.influx import InfluxProcess
from trackerdcs.archive import lineproto
from trackerdcs.archive.open import open_backend
from trackerdcs.archive.url import parse_archive_url

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def pid_of(proc: subprocess.Popen[bytes] | None) -> int:
    assert proc is not None
    return proc.pid


def direct_ceiling(influx: InfluxProcess, k: int, points: int, batch: int, connections: int) -> float:
    """Points/s written straight to InfluxDB in batches of ``batch`` lines."""
    t0 = time.time_ns()
    lines = [
        lineproto.line(
            "direct", {"number": str(c)}, {n: v for n, v in e.items() if n != "number"}, t0 + i * 1000
        )
        for i in range(points // k)
        for c, e in enumerate(channels(k, i))
    ]
    bodies = [lineproto.encode(t for t in lines[i : i + batch] if t) for i in range(0, len(lines), batch)]
    http = urllib3.PoolManager(maxsize=connections)
    base = f"http://127.0.0.1:{influx.port}"
    http.request("POST", f"{base}/query", fields={"q": f"CREATE DATABASE direct{connections}"})

    def write(part: list[bytes]) -> None:
        for body in part:
            response = http.request("POST", f"{base}/write?db=direct{connections}&precision=ns", body=body)
            assert response.status == 204, response.data

    threads = [threading.Thread(target=write, args=(bodies[j::connections],)) for j in range(connections)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(lines) / (time.perf_counter() - start)


class Poller(threading.Thread):
    """Asks InfluxDB for the newest stored time of channel 0 of each publisher."""

    def __init__(self, port: int, database: str, measurements: list[str]) -> None:
        super().__init__(daemon=True)
        self.http = urllib3.PoolManager()
        self.url = f"http://127.0.0.1:{port}/query"
        self.database = database
        self.seen: dict[str, list[tuple[float, float]]] = {m: [] for m in measurements}  # (wall, newest)
        self.stop = threading.Event()
        self.interval = 0.01

    def newest(self, measurement: str) -> float | None:
        # one series, recent data only: cheap enough to ask 100 times a second. The
        # channels of a message are written in one request, so channel 0 stands for all.
        q = f'SELECT last("vmon") FROM "{measurement}" WHERE "number" = \'0\' AND time > now() - 1m'
        r = self.http.request("GET", self.url, fields={"db": self.database, "q": q, "epoch": "ns"})
        series = json.loads(r.data)["results"][0].get("series")
        return series[0]["values"][0][0] / 1e9 if series else None

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            for m, seen in self.seen.items():
                newest = self.newest(m)
                if newest is not None:
                    seen.append((time.time(), newest))

    def visible(self, measurement: str, ts: float) -> float | None:
        """When a message published at ``ts`` was first seen stored."""
        return next((wall for wall, newest in self.seen[measurement] if newest >= ts - 1e-6), None)

    def latencies(self, published: dict[str, list[float]]) -> list[float]:
        out = []
        for m, times in published.items():
            seen, j = self.seen[m], 0
            for t in times:
                while j < len(seen) and seen[j][1] < t - 1e-6:
                    j += 1
                if j < len(seen):
                    out.append(seen[j][0] - t)
        return out


@dataclass
class Run:
    points: int
    seconds: float
    latencies: list[float]
    cpu: dict[str, float]  # CPU seconds per process group
    sent: float = 0.0  # s from the start until the last message was published

    @property
    def sent_rate(self) -> float:
        """What the publishers managed (below the rate asked for when the CPU is short)."""
        return self.points / self.sent

    @property
    def rate(self) -> float:
        return self.points / self.seconds


def publish(
    port: int, args: argparse.Namespace, names: list[str], work: Path
) -> list[subprocess.Popen[bytes]]:
    each = args.n // len(names)
    return [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "benchmarks.status_publisher", str(port), str(each), str(args.k)),
                *(str(args.rate / len(names)), name, str(work / f"{name}.json")),
            ]
        )
        for name in names
    ]


def through_archive(broker: BrokerProcess, url: str, args: argparse.Namespace, work: Path) -> Run:
    work.mkdir(parents=True, exist_ok=True)
    stand = work / "stand.toml"
    stand.write_text(f'[[devices]]\nname = "x"\nkind = "dummy"\n[archive]\nbatch_kb = {args.batch_kb}\n')
    argv = dcs_argv("archive", "run", "--broker", broker.url, "--archive", url, "--data-dir", str(work), "-q")
    argv += ["--config", str(stand)]
    archiver = subprocess.Popen(argv)
    names = [f"bench{j}" for j in range(args.publishers)]
    target = parse_archive_url(url)
    poller = Poller(target.port, target.database, names) if target.scheme == "influxdb" else None
    if poller:
        poller.interval = args.poll
    try:
        wait_until(lambda: len(children_of(archiver.pid)) >= 1, what="the archiver's worker")
        time.sleep(1.0)  # let it subscribe (a benchmark, not a test)
        started = {pid: cpu_seconds(pid) for pid in [archiver.pid, *children_of(archiver.pid)]}
        before = {"mosquitto": cpu_seconds(pid_of(broker.proc))}
        if poller:
            poller.start()
        start = time.time()
        publishers = publish(broker.port, args, names, work)
        for p in publishers:
            assert p.wait(600) == 0
        results = {n: json.loads((work / f"{n}.json").read_text()) for n in names}
        published = {n: r["times"] for n, r in results.items()}
        pub_cpu = sum(r["cpu"] for r in results.values())
        total = sum(len(t) for t in published.values()) * args.k
        end = wait_done(url, names, published, poller, total)
        group = [archiver.pid, *children_of(archiver.pid)]  # its workers start with the first segment
        cpu = {
            "archiver": cpu_seconds(archiver.pid) - started[archiver.pid],
            "its workers": sum(cpu_seconds(pid) - started.get(pid, 0.0) for pid in group[1:]),
            "mosquitto": cpu_seconds(pid_of(broker.proc)) - before["mosquitto"],
            "publishers": pub_cpu,
        }
        latencies = poller.latencies(published) if poller else []
        sent = max(t[-1] for t in published.values()) - start
        return Run(total, end - start, latencies, cpu, sent)
    finally:
        if poller:
            poller.stop.set()
        archiver.terminate()
        archiver.wait(60)


def wait_done(
    url: str, names: list[str], published: dict[str, list[float]], poller: Poller | None, total: int
) -> float:
    """The wall time at which the last point became queryable; checks that all are there."""
    backend = open_backend(parse_archive_url(url))
    try:
        if poller is not None:
            wait_until(
                lambda: all(poller.visible(n, published[n][-1]) for n in names),
                timeout=600,
                what="the last point",
            )
            end = max(poller.visible(n, published[n][-1]) or 0.0 for n in names)
        else:
            end = wait_counted(lambda: sum(backend.count(n) for n in names) >= total)
        stored = sum(backend.count(n) for n in names)
        assert stored == total, f"{stored} points stored of {total}"
        return end
    finally:
        backend.close()


def wait_counted(done: Callable[[], bool], every: float = 0.2) -> float:
    """When ``done`` first held, to ``every`` s: a count scans the table, so not every 20 ms."""
    deadline = time.time() + 600
    while not done():
        assert time.time() < deadline, "timed out waiting for every point"
        time.sleep(every)
    return time.time()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=60_000, help="status messages")
    parser.add_argument("--k", type=int, default=64, help="channels per message")
    parser.add_argument("--rate", type=float, default=1_600, help="messages/s, all publishers together")
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--poll", type=float, default=0.01, help="latency poll interval, s")
    parser.add_argument(
        "--batch-kb", type=int, default=1024, help="the archiver's spool segment (write batch) size"
    )
    parser.add_argument("--sqlite-n", type=int, default=30_000, help="messages for the SQLite run")
    parser.add_argument(
        "--sqlite-rate", type=float, default=1_600, help="messages/s for the SQLite run, all publishers"
    )
    parser.add_argument("--sqlite-only", action="store_true", help="skip the InfluxDB figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = BrokerProcess("mosquitto", work / "broker")
        influx = InfluxProcess(work / "influx")
        broker.start()
        influx.start()
        try:
            report(broker, influx, args, work)
        finally:
            broker.stop()
            influx.stop()


def report(broker: BrokerProcess, influx: InfluxProcess, args: argparse.Namespace, work: Path) -> None:
    if not args.sqlite_only:
        report_influx(broker, influx, args, work)
    args.n, args.rate = args.sqlite_n, args.sqlite_rate
    sq = through_archive(
        broker, f"sqlite:///{work / 'sqlite-run' / 'archive.sqlite3'}", args, work / "sqlite-run"
    )
    print(f"Through mosquitto and the archiver into SQLite ({args.n:,} messages x {args.k} channels):")
    print(f"  {sq.rate:,.0f} points/s stored (offered {args.rate * args.k:,.0f}/s)")
    print(f"  published at {sq.sent_rate:,.0f} points/s; the last stored {sq.seconds - sq.sent:.2f} s later")
    print(f"  CPU ms per 1,000 points: {_per_thousand(sq)}")


def _per_thousand(run: Run) -> str:
    return ", ".join(f"{name} {1e3 * s / run.points * 1000:.1f}" for name, s in run.cpu.items())


def report_influx(broker: BrokerProcess, influx: InfluxProcess, args: argparse.Namespace, work: Path) -> None:
    batch = (args.batch_kb << 10) * args.k // len(json.dumps(channels(args.k, 0)))  # lines in a spool segment
    # as many points as the run through the archive, so that the ceiling pays for the
    # same compactions (a short burst defers them and flatters the database)
    one = direct_ceiling(influx, args.k, args.n * args.k, batch, 1)
    two = direct_ceiling(influx, args.k, args.n * args.k, batch, 2)
    print(
        f"InfluxDB direct ingest, {batch} lines a request: {one:,.0f} points/s (1 connection), {two:,.0f} (2)"
    )
    influx_before = cpu_seconds(pid_of(influx.proc))
    run = through_archive(broker, influx.url("bench"), args, work / "influx-run")
    run.cpu["influxd"] = cpu_seconds(pid_of(influx.proc)) - influx_before
    print(f"Through mosquitto and the archiver into InfluxDB ({args.n:,} messages x {args.k} channels):")
    print(f"  {run.rate:,.0f} points/s stored (offered {args.rate * args.k:,.0f}/s)")
    print(f"  ratio to the direct ceiling: {run.rate / one:.2f} (1 connection), {run.rate / two:.2f} (2)")
    lat = sorted(run.latencies)
    p99 = lat[int(0.99 * (len(lat) - 1))]
    print(f"  publish -> queryable: median {1000 * statistics.median(lat):.0f} ms, p99 {1000 * p99:.0f} ms")
    print(f"  CPU ms per 1,000 points: {_per_thousand(run)}")


if __name__ == "__main__":
    main()
