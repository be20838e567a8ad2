"""The spool: durable, ordered, bounded, and readable after a crash."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.helpers import wait_until
from trackerdcs.archive.points import Message
from trackerdcs.archive.spool import Spool, SpoolClosed


def msg(i: int, size: int = 10) -> Message:
    return Message(f"/dev{i % 3}/status", b"x" * size, float(i))


def test_sealed_segments_come_back_in_order_with_every_message(tmp_path: Path) -> None:
    sealed: list[int] = []
    spool = Spool(tmp_path, segment_bytes=200, on_sealed=lambda: sealed.append(1))
    for i in range(50):
        spool.append(msg(i))
    spool.close()
    segments = spool.sealed()
    assert len(segments) > 1
    assert len(sealed) == len(segments)
    got = [m for s in segments for m in spool.read(s)]
    assert got == [msg(i) for i in range(50)]


def test_a_segment_is_sealed_by_age_when_traffic_stops(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_age=0.0)
    spool.append(msg(1))
    assert spool.sealed() == []
    spool.seal_if_old()
    assert [m for s in spool.sealed() for m in spool.read(s)] == [msg(1)]


def test_a_new_spool_finds_what_a_crashed_one_left(tmp_path: Path) -> None:
    first = Spool(tmp_path, segment_bytes=100)
    for i in range(10):
        first.append(msg(i))
    # no close(): the process died; the open segment is still on disk
    second = Spool(tmp_path)
    assert [m for s in second.sealed() for m in second.read(s)] == [msg(i) for i in range(10)]
    second.append(msg(99))
    second.close()
    assert second.read(second.sealed()[-1]) == [msg(99)]


def test_a_torn_record_at_the_end_is_cut_off(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(msg(1))
    spool.append(msg(2))
    spool.close()
    (segment,) = spool.sealed()
    path = spool.path(segment)
    path.write_bytes(path.read_bytes()[:-3])
    assert spool.read(segment) == [msg(1)]


def test_removing_a_segment_frees_its_bytes(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=50)
    for i in range(5):
        spool.append(msg(i))
    spool.close()
    before = spool.size
    first = spool.sealed()[0]
    spool.remove(first)
    assert spool.size < before
    assert first not in spool.sealed()
    assert not spool.path(first).exists()


def test_a_full_spool_holds_the_writer_back_until_room_is_made(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=300, segment_bytes=100)
    while spool.size + 100 <= 300:
        spool.append(msg(0, 60))
    done = threading.Event()

    def late() -> None:
        spool.append(msg(1, 60))
        done.set()

    thread = threading.Thread(target=late)
    thread.start()
    wait_until(lambda: spool.full, what="the spool to say it is full")
    assert not done.is_set()
    spool.remove(spool.sealed()[0])
    wait_until(done.is_set, what="the held-back message to be written")
    thread.join()
    assert not spool.full


def test_closing_releases_a_held_back_writer(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=100)
    spool.append(msg(0, 60))
    errors: list[BaseException] = []

    def late() -> None:
        with pytest.raises(SpoolClosed) as info:
            spool.append(msg(1, 60))
        errors.append(info.value)

    thread = threading.Thread(target=late)
    thread.start()
    wait_until(lambda: spool.full, what="the spool to fill")
    spool.close()
    thread.join(5)
    assert len(errors) == 1
