"""Fixtures that start real services on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.helpers import BrokerProcess, free_port
from tests.influx import InfluxProcess
from tests.mongo import MongoProcess
from tests.receivers import MailBox, WebHook


@pytest.fixture(params=["mosquitto", "embedded"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrokerProcess]:
    """A real broker: every test using it runs against mosquitto and the embedded amqtt."""
    process = BrokerProcess(request.param, tmp_path / "broker")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A real mosquitto, started with the configuration `dcs up` generates."""
    process = BrokerProcess("mosquitto", tmp_path / "mosquitto")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[MailBox, int]]:
    box = MailBox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def _webhook() -> Iterator[WebHook]:
    receiver = WebHook()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def hook() -> Iterator[WebHook]:
    """A JSON webhook receiver on a free loopback port."""
    yield from _webhook()


@pytest.fixture
def ntfy() -> Iterator[WebHook]:
    """A second receiver, standing in for a self-hosted ntfy server."""
    yield from _webhook()


@pytest.fixture
def influx(tmp_path: Path) -> Iterator[InfluxProcess]:
    """A real InfluxDB 1.x on free loopback ports with a temporary data directory."""
    process = InfluxProcess(tmp_path / "influxdb")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def shared_influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxProcess]:
    """One InfluxDB for the tests that only write and read (each uses its own database)."""
    process = InfluxProcess(tmp_path_factory.mktemp("influxdb"))
    process.start()
    yield process
    process.stop()


@pytest.fixture
def mongodb(tmp_path: Path) -> Iterator[MongoProcess]:
    """A real MongoDB-compatible server (SecantusDB) on a free loopback port, temporary data."""
    process = MongoProcess(tmp_path / "mongodb")
    process.start()
    yield process
    process.stop()
