"""Archive URLs, secrets, the stand's [archive] table and command-line times."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackerdcs.archive.url import ArchiveUrlError, parse_archive_url
from trackerdcs.cli.durations import parse_time
from trackerdcs.stand import StandError, parse_stand
from trackerdcs.stand.archive import ArchiveConfig, archive_target

STAND = '[[devices]]\nname = "hv"\nkind = "hv"\n'


def test_influxdb_1_urls_name_host_port_database_and_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCS_ARCHIVE_PASSWORD", "s3cret")
    target = parse_archive_url("influxdb://dcs@db.lab:8087/tracker")
    assert (target.host, target.port, target.database, target.username) == ("db.lab", 8087, "tracker", "dcs")
    assert target.password == "s3cret"
    assert target.base == "http://db.lab:8087"
    assert "s3cret" not in target.describe()


def test_influxdb_2_urls_need_org_and_bucket_and_take_a_token_file(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("tok-123\n")
    target = parse_archive_url("influxdb2://db:8086/?org=lab&bucket=dcs&tls=1", token)
    assert (target.org, target.bucket, target.token, target.tls) == ("lab", "dcs", "tok-123", True)
    assert target.base == "https://db:8086"


def test_sqlite_urls_take_relative_and_absolute_paths() -> None:
    assert parse_archive_url("sqlite:///data/a.sqlite3").path == Path("data/a.sqlite3")
    assert parse_archive_url("sqlite:////var/lib/dcs/a.sqlite3").path == Path("/var/lib/dcs/a.sqlite3")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgres://x/db", "scheme must be one of"),
        ("influxdb://host:8086/", "name the database"),
        ("influxdb://u:pw@host/db", "no password in the URL"),
        ("influxdb://host:99999/db", "port"),
        ("influxdb2://host/?org=lab", "give org and bucket"),
        ("sqlite://", "give a file"),
    ],
)
def test_a_wrong_archive_url_says_what_is_wrong(url: str, problem: str) -> None:
    with pytest.raises(ArchiveUrlError, match=problem):
        parse_archive_url(url)


def test_an_unreadable_secret_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ArchiveUrlError, match="secret file"):
        parse_archive_url("influxdb://h/db", tmp_path / "missing")


def test_the_default_archive_is_sqlite_in_the_data_directory(tmp_path: Path) -> None:
    target = archive_target(ArchiveConfig(), tmp_path)
    assert target.scheme == "sqlite"
    assert target.path == tmp_path / "archive.sqlite3"
    assert archive_target(ArchiveConfig(url="influxdb://h/db"), tmp_path).scheme == "influxdb"
    assert archive_target(ArchiveConfig(url="influxdb://h/db"), tmp_path, "sqlite:///x").scheme == "sqlite"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('url = "mysql://x"', "x.toml: archive.url: archive URL 'mysql://x': scheme must be one of"),
        ("spool_max_mb = 0", "x.toml: archive.spool_max_mb: Input should be greater than or equal to 1"),
        ("flush = 1", "x.toml: archive.flush: Extra inputs are not permitted"),
    ],
)
def test_a_wrong_archive_table_names_the_file_and_the_key(table: str, message: str) -> None:
    with pytest.raises(StandError) as info:
        parse_stand(STAND + "[archive]\n" + table + "\n", "x.toml")
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize(
    ("text", "ago"), [("30s", 30), ("15m", 900), ("2h", 7200), ("1.5d", 129600), ("1w", 604800)]
)
def test_durations_count_back_from_now(text: str, ago: float) -> None:
    assert parse_time(text, 1_000_000.0) == 1_000_000.0 - ago


def test_iso_times_are_absolute_and_nonsense_is_refused() -> None:
    assert parse_time("2026-01-01T00:00:00+00:00", 0) == 1767225600.0
    with pytest.raises(ValueError, match="neither a duration"):
        parse_time("yesterday", 0)
