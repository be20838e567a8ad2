"""The run stores: embedded SQLite, and MongoDB through pymongo against a real server."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mongo import MongoProcess
from trackerdcs.runstore.base import RunQuery, RunStore, StoreUnavailable
from trackerdcs.runstore.embedded import EmbeddedStore
from trackerdcs.runstore.mongo import MongoStore
from trackerdcs.runstore.outbox import Outbox

NOW = dt.datetime(2026, 12, 1, 10, 0, 0, 123000, tzinfo=dt.UTC)


def record(i: int, **extra: object) -> dict[str, object]:
    return {
        "id": f"demo-{i}",
        "run": 100 + i,
        "modules": ["M1"] if i % 2 else ["M1", "M2"],
        "start": NOW + dt.timedelta(days=i),
        "stop": NOW + dt.timedelta(days=i, seconds=30),
        "status": "failed" if i % 3 == 0 else "done",
        "conditions": [{"signal": "hv:0.vmon", "min": 1.5, "max": 2.5, "count": 3}],
        **extra,
    }


@pytest.fixture(params=["embedded", "secantus", "real-mongodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    if request.param == "embedded":
        yield EmbeddedStore(tmp_path / "runs.sqlite3")
        return
    if request.param == "real-mongodb":
        url = os.environ.get("DCS_TEST_MONGODB_URL")
        if not url:
            pytest.skip("DCS_TEST_MONGODB_URL is not set: no real MongoDB to test against")
        mongo = MongoStore(url)
        mongo._runs.delete_many({})
        yield mongo
        mongo.close()
        return
    server = MongoProcess(tmp_path / "mongodb")
    server.start()
    mongo = MongoStore(server.url)
    yield mongo
    mongo.close()
    server.stop()


@pytest.mark.mongodb
def test_insert_replace_get_and_find(store: RunStore) -> None:
    for i in range(6):
        store.put(record(i, status="starting"))
        store.put(record(i))  # the final record replaces the first
    got = store.get("demo-4")
    assert got is not None
    assert got["start"] == NOW + dt.timedelta(days=4)  # aware UTC, to the millisecond
    assert got["conditions"][0]["max"] == 2.5
    assert store.get("104") == got  # by run number too
    assert store.get("nope") is None
    assert [r["id"] for r in store.find(RunQuery())] == [f"demo-{i}" for i in (5, 4, 3, 2, 1, 0)]
    assert [r["id"] for r in store.find(RunQuery(module="M2"))] == ["demo-4", "demo-2", "demo-0"]
    assert [r["id"] for r in store.find(RunQuery(status="failed"))] == ["demo-3", "demo-0"]
    since = RunQuery(since=NOW + dt.timedelta(days=3), status="done", limit=1)
    assert [r["id"] for r in store.find(since)] == ["demo-5"]


@pytest.mark.mongodb
def test_mongo_has_the_indexes(mongodb: MongoProcess) -> None:
    store = MongoStore(mongodb.url)
    store.put(record(1))
    keys = {next(iter(v["key"]))[0] for v in store._runs.index_information().values()}
    assert {"id", "run", "modules", "start", "status"} <= keys
    plan = store._runs.find({"run": 101}).explain()["queryPlanner"]["winningPlan"]
    assert "IXSCAN" in str(plan)
    store.close()


@pytest.mark.mongodb
def test_writes_while_mongodb_is_down_arrive_in_order_once_it_is_back(
    tmp_path: Path, mongodb: MongoProcess
) -> None:
    outbox = Outbox(MongoStore(mongodb.url, timeout_ms=500), tmp_path / "outbox")
    assert outbox.put(record(1, status="starting"))
    mongodb.stop()
    assert not outbox.put(record(1))  # kept on disk
    assert not outbox.put(record(2, status="starting"))
    assert outbox.pending() == 2
    restarted = Outbox(outbox.store, tmp_path / "outbox")  # a restart of the service keeps them too
    assert restarted.flush() == 2
    mongodb.start()
    assert restarted.flush() == 0
    got = restarted.get("demo-1")
    assert got is not None
    assert got["status"] == "done"  # the final write, not overtaken by the first
    assert [r["id"] for r in restarted.find(RunQuery())] == ["demo-2", "demo-1"]


def test_an_unreachable_mongodb_is_unavailable_not_a_crash() -> None:
    from tests.helpers import free_port

    store = MongoStore(f"mongodb://127.0.0.1:{free_port()}/x", timeout_ms=200)
    with pytest.raises(StoreUnavailable):
        store.put(record(1))
