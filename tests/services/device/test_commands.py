"""The command path of a device service, without a broker: handler, guard and worker thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from trackerdcs.bus.session import payload_bytes
from trackerdcs.contract.payloads import MAX_PAYLOAD_BYTES, CommandRejected, Reason, Reply
from trackerdcs.contract.topics import Inbound
from trackerdcs.devices.base import Device, Sample
from trackerdcs.devices.clock import ManualClock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.registry import create_device
from trackerdcs.safety.modules import ModuleMap
from trackerdcs.services.device.commands import CommandHandler
from trackerdcs.services.device.guard import Guard
from trackerdcs.services.device.io_thread import DeviceIO, DeviceTimeout

# -- the command handler -----------------------------------------------------------------


class Broken(Device):
    """A device whose handle() fails, or blocks until the test releases it."""

    def __init__(self, release: threading.Event | None = None) -> None:
        super().__init__(DeviceConfig(name="hv", kind="hv"), ManualClock())
        self.release = release
        self.calls = 0

    def read(self) -> Sample:
        return Sample(0.0, [])

    def handle(self, inbound: Inbound, text: str) -> str:
        self.calls += 1
        if self.release is not None:
            self.release.wait(10)  # a safety net only: the test sets the event
            return "too late"
        raise RuntimeError("instrument on fire")


class Refusing(Guard):
    """A guard that inhibits every command."""

    def __init__(self) -> None:
        super().__init__("hv", ModuleMap(()), None, None, lambda: 0.0)

    def check(self, inbound: Inbound, text: str) -> None:
        raise CommandRejected(Reason.INTERLOCKED, "HV inhibited by rule dewpoint")


NOW = 1_700_000_123.5


class Handlers:
    """Builds command handlers, records rebirth requests, closes the worker threads."""

    def __init__(self) -> None:
        self.rebirths: list[str] = []
        self.ios: list[DeviceIO] = []

    def __call__(self, device: Device, timeout: float = 2.0, guard: Guard | None = None) -> CommandHandler:
        io = DeviceIO(device.name, timeout=timeout)
        self.ios.append(io)

        async def rebirth() -> None:
            self.rebirths.append(device.name)

        return CommandHandler(device, io, lambda: NOW, rebirth, guard)

    def close(self) -> None:
        for io in self.ios:
            io.close()


@pytest.fixture
def make_handler() -> Iterator[Handlers]:
    handlers = Handlers()
    yield handlers
    handlers.close()


def hv() -> Device:
    return create_device(DeviceConfig(name="hv", kind="hv", seed=1), ManualClock())


async def test_a_good_command_gets_an_ok_reply(make_handler: Handlers) -> None:
    device = hv()
    reply = await make_handler(device).handle("/hv/cmd/setv/0", b"100")
    assert reply == Reply(
        ok=True,
        device="hv",
        topic="/hv/cmd/setv/0",
        payload="100",
        command="setv",
        channel=0,
        reason=None,
        message="channel 0: vreq set to 100 V",
        ts=NOW,
    )
    body = device.read().body
    assert isinstance(body, list) and body[0]["vreq"] == 100.0


async def test_a_switch_command(make_handler: Handlers) -> None:
    device = hv()
    reply = await make_handler(device).handle("/hv/cmd/switch/0", b" ON\n")
    assert (reply.ok, reply.payload, reply.message) == (True, "ON", "channel 0: output on")


async def test_rebirth_is_handled_by_the_service(make_handler: Handlers) -> None:
    device = Broken()  # the device itself is never asked
    reply = await make_handler(device).handle("/hv/cmd/rebirth", b"")
    assert (reply.ok, reply.command, reply.message) == (True, "rebirth", "full state published again")
    assert make_handler.rebirths == ["hv"]
    assert device.calls == 0


@pytest.mark.parametrize(
    ("topic", "raw", "reason", "message"),
    [
        ("/hv/cmd/setv/0", b"\xff\x00garbage", Reason.BAD_PAYLOAD, "not UTF-8"),
        ("/hv/cmd/setv/0", bytes(range(256)), Reason.BAD_PAYLOAD, "not UTF-8"),
        ("/hv/cmd/setv/0", b"9" * 100_000, Reason.BAD_PAYLOAD, "payload too large: 100000 bytes"),
        ("/hv/cmd/setv/0", b"1\x00", Reason.BAD_PAYLOAD, "control characters"),
        ("/hv/cmd/setv/0", b"NaN", Reason.BAD_PAYLOAD, "finite"),
        ("/hv/cmd/setv/0", b"inf", Reason.BAD_PAYLOAD, "finite"),
        ("/hv/cmd/setv/0", b"", Reason.BAD_PAYLOAD, "expected a number"),
        ("/hv/cmd/switch/0", b"perhaps", Reason.BAD_PAYLOAD, "expected 'on' or 'off'"),
        ("/hv/cmd/setv/0", b"2000", Reason.OUT_OF_RANGE, "outside [0, 1000] V"),
        ("/hv/cmd/explode/0", b"1", Reason.UNKNOWN_COMMAND, "unknown command 'explode'"),
        ("/hv/sim/warp", b"1", Reason.UNKNOWN_COMMAND, "unknown simulator parameter 'warp'"),
        ("/hv/cmd/setv/7", b"1", Reason.UNKNOWN_CHANNEL, "hv has no channel 7"),
        ("/hv/cmd/setv", b"1", Reason.BAD_TOPIC, "needs a channel"),
        ("/hv/cmd", b"1", Reason.BAD_TOPIC, "expected /<device>/cmd|sim/<name>"),
        ("hv/cmd/setv/0", b"1", Reason.BAD_TOPIC, "expected /<device>/cmd|sim/<name>"),
        ("/hv/cmd/setv/-1", b"1", Reason.BAD_TOPIC, "channel must be a non-negative integer"),
        ("/hv/go/setv/0", b"1", Reason.BAD_TOPIC, "expected 'cmd' or 'sim'"),
        ("/lv/cmd/setv/0", b"1", Reason.BAD_TOPIC, "topic is not for hv"),
        ("/" + "x" * 1000, b"1", Reason.BAD_TOPIC, "longer than 256"),
    ],
)
async def test_every_bad_input_gets_a_rejection(
    make_handler: Handlers, topic: str, raw: bytes, reason: Reason, message: str
) -> None:
    device = hv()
    reply = await make_handler(device).handle(topic, raw)
    assert (reply.ok, reply.reason, reply.device, reply.ts) == (False, reason, "hv", NOW)
    assert message in reply.message
    assert len(reply.payload) <= 64
    assert len(reply.topic) <= 256
    assert Reply.model_validate_json(reply.model_dump_json()) == reply  # always publishable
    body = device.read().body
    assert isinstance(body, list) and body[0]["vreq"] == 0.0 and body[0]["on"] == 0


async def test_a_rejection_names_the_command_and_channel_when_the_topic_parsed(
    make_handler: Handlers,
) -> None:
    handler = make_handler(hv())
    out_of_range = await handler.handle("/hv/cmd/setv/0", b"2000")
    assert (out_of_range.command, out_of_range.channel, out_of_range.payload) == ("setv", 0, "2000")
    bad_topic = await handler.handle("/hv/cmd", b"2000")
    assert (bad_topic.command, bad_topic.channel) == (None, None)


async def test_a_binary_payload_is_echoed_readably(make_handler: Handlers) -> None:
    reply = await make_handler(hv()).handle("/hv/cmd/setv/0", b"\xff\xfe1")
    assert reply.payload == "\ufffd\ufffd1"


async def test_a_huge_payload_is_shortened_in_the_reply(make_handler: Handlers) -> None:
    raw = b"7" * (MAX_PAYLOAD_BYTES * 100)
    reply = await make_handler(hv()).handle("/hv/cmd/setv/0", raw)
    assert reply.reason is Reason.BAD_PAYLOAD
    assert reply.payload == "7" * 64


async def test_a_failing_device_gives_device_error(make_handler: Handlers) -> None:
    device = Broken()
    reply = await make_handler(device).handle("/hv/cmd/setv/0", b"10")
    assert (reply.ok, reply.reason, reply.command, reply.channel) == (False, Reason.DEVICE_ERROR, "setv", 0)
    assert reply.message == "RuntimeError: instrument on fire"
    assert device.calls == 1


async def test_a_hanging_device_gives_device_error_after_the_timeout(
    make_handler: Handlers,
) -> None:
    release = threading.Event()
    device = Broken(release)
    handler = make_handler(device, timeout=0.05)
    try:
        reply = await handler.handle("/hv/cmd/setv/0", b"10")
    finally:
        release.set()
    assert (reply.ok, reply.reason) == (False, Reason.DEVICE_ERROR)
    assert reply.message == "hv: no answer within 0.05 s"


async def test_the_device_answers_again_once_it_is_released(
    make_handler: Handlers,
) -> None:
    release = threading.Event()
    device = Broken(release)
    handler = make_handler(device, timeout=0.05)
    try:
        first = await handler.handle("/hv/cmd/setv/0", b"10")
    finally:
        release.set()
    assert first.reason is Reason.DEVICE_ERROR
    handler.io.timeout = 5.0
    second = await handler.handle("/hv/cmd/setv/0", b"10")
    assert (second.ok, second.message) == (True, "too late")
    assert device.calls == 2


async def test_a_guard_rejection_never_reaches_the_device(make_handler: Handlers) -> None:
    device = Broken()
    reply = await make_handler(device, guard=Refusing()).handle("/hv/cmd/switch/0", b"on")
    assert (reply.ok, reply.reason, reply.message) == (
        False,
        Reason.INTERLOCKED,
        "HV inhibited by rule dewpoint",
    )
    assert device.calls == 0


@pytest.mark.parametrize(
    ("payload", "raw"),
    [
        (b"on", b"on"),
        (bytearray(b"off"), b"off"),
        ("100", b"100"),
        ("°C", "°C".encode()),
        (42, b"42"),
        (1.5, b"1.5"),
        (None, b""),
    ],
)
def test_payload_bytes_normalises_what_the_client_hands_over(payload: object, raw: bytes) -> None:
    result = payload_bytes(payload)
    assert result == raw
    assert type(result) is bytes


# -- device io ---------------------------------------------------------------------------


def add(a: int, b: int = 0) -> int:
    return a + b


async def test_device_io_runs_calls_in_one_named_worker_thread() -> None:
    io = DeviceIO("hv", timeout=2.0)
    try:
        names = [await io.call(lambda: threading.current_thread().name) for _ in range(3)]
        assert len(set(names)) == 1
        assert names[0].startswith("io-hv")
        assert names[0] != threading.current_thread().name
        assert await io.call(add, 2, b=3) == 5
    finally:
        io.close()


async def test_device_io_serialises_calls() -> None:
    io = DeviceIO("hv", timeout=2.0)
    active, overlaps = [0], [0]
    lock = threading.Lock()

    def work(i: int) -> int:
        with lock:
            active[0] += 1
            overlaps[0] = max(overlaps[0], active[0])
        total = sum(range(20_000))
        with lock:
            active[0] -= 1
        return i + total * 0

    try:
        results = await asyncio.gather(*(io.call(work, i) for i in range(8)))
    finally:
        io.close()
    assert results == list(range(8))
    assert overlaps[0] == 1


async def test_device_io_timeout_is_a_device_timeout() -> None:
    release = threading.Event()
    io = DeviceIO("hv", timeout=0.05)
    try:
        with pytest.raises(DeviceTimeout, match=r"no answer within 0\.05 s"):
            await io.call(release.wait, 10)
    finally:
        release.set()
        io.close()
    assert issubclass(DeviceTimeout, TimeoutError)


async def test_device_io_passes_exceptions_through() -> None:
    io = DeviceIO("hv")

    def fail() -> None:
        raise CommandRejected(Reason.OUT_OF_RANGE, "too high")

    try:
        with pytest.raises(CommandRejected, match="too high"):
            await io.call(fail)
    finally:
        io.close()
