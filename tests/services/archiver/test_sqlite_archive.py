"""The embedded archive from other processes: `dcs history` beside a writer, a newer schema refused."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.archive.test_sqlite_schema import V1_SCHEMA
from tests.archiving import Load, running_archiver
from tests.helpers import TIMEOUT, BrokerProcess, dcs_argv, free_port, wait_until
from trackerdcs.archive.sqlite import SqliteBackend


def history(url: str, *args: str) -> subprocess.Popen[str]:
    argv = dcs_argv("history", *args, "--since", "10m", "--json", "--archive", url)
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def too_new(path: Path) -> str:
    SqliteBackend(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 7")
    raw.close()
    return f"sqlite:///{path}"


def test_dcs_history_refuses_a_newer_schema_in_one_line(tmp_path: Path) -> None:
    url = too_new(tmp_path / "archive.sqlite3")
    out, err = history(url, "hv", "0", "vmon").communicate(timeout=TIMEOUT * 4)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "version 7" in lines[0] and "version 3" in lines[0]
    assert str(tmp_path / "archive.sqlite3") in lines[0]
    assert out == ""


def test_the_archiver_does_not_start_on_a_newer_schema(tmp_path: Path) -> None:
    url = too_new(tmp_path / "archive.sqlite3")
    argv = dcs_argv("archive", "run", "--archive", url, "--data-dir", str(tmp_path / "data"))
    argv += ["--broker", "mqtt://127.0.0.1:1"]  # never reached: it stops before it connects
    result = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT * 4)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "version 7" in lines[0] and "newer" in lines[0]
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*.seg"))


def test_dcs_history_waits_for_a_migration_in_another_process(tmp_path: Path) -> None:
    """A reader that finds the lock taken (here: a v1 file being migrated) waits, then reads."""
    path = tmp_path / "archive.sqlite3"
    now = time.time_ns()
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.executescript(V1_SCHEMA)
    writer.executemany(
        "INSERT INTO samples VALUES ('hv', 'vmon', 'number=0', ?, ?)",
        [(now - i * 10**9, 1.5) for i in range(3)],
    )
    writer.execute("BEGIN IMMEDIATE")  # the lock a migrating archiver holds
    reader = history(f"sqlite:///{path}", "hv", "0", "vmon")
    wait_until(lambda: _waiting_on(reader.pid, path), what="the reader waiting for the lock")
    writer.execute("COMMIT")
    writer.close()
    out, err = reader.communicate(timeout=TIMEOUT * 4)
    assert reader.returncode == 0, err
    assert [json.loads(line)["value"] for line in out.splitlines()] == [1.5, 1.5, 1.5]


def _waiting_on(pid: int, path: Path) -> bool:
    """The process has the database open and sleeps (SQLite's busy handler sleeps between tries)."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        opened = any(link.resolve() == path.resolve() for link in fds.iterdir())
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return opened and state == "S"


@pytest.mark.broker
async def test_dcs_history_reads_while_the_archiver_writes(mosquitto: BrokerProcess, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    async with (
        running_archiver(mosquitto.settings, url, tmp_path / "spool", segment_age=0.02),
        Load(mosquitto.settings, 3, channels=16, period=0.002) as load,
    ):
        counts = []
        for _ in range(5):  # each a separate process, while segments are committed
            statuses = load.statuses()
            out, err = await asyncio.to_thread(
                history(url, "load0", "0", "vmon").communicate, None, TIMEOUT * 4
            )
            assert err.strip() == "" or "no values" in err, err
            counts.append(len(out.splitlines()))
            assert load.statuses() > statuses  # the load went on while it read
        assert counts[-1] > 0
        assert counts == sorted(counts)  # each read sees at least what the last one saw


def test_dcs_up_on_a_newer_archive_stops_with_one_line_instead_of_retrying(tmp_path: Path) -> None:
    """The archiver refuses the file (exit 2): at start-up, dcs up stops with its reason, starting nothing."""
    url = too_new(tmp_path / "archive.sqlite3")
    argv = dcs_argv(
        "up", "--no-web", "--archive", url, "--mqtt-port", str(free_port()), "--data-dir", str(tmp_path / "d")
    )
    result = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT * 4)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "archive refused its configuration" in result.stderr
    assert "version 7" in result.stderr
    assert "Stand is up" not in result.stdout
