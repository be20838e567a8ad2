"""Real mosquitto with the configuration `dcs deploy` generates (paths and ports mapped
onto the test's directory): who may connect, publish and read, checked by what
actually reaches real subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import aiomqtt
import pytest

from tests.deploying import SecureBroker, run_deploy
from tests.helpers import TIMEOUT

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    out = tmp_path_factory.mktemp("deployment")
    run_deploy(out)
    secure = SecureBroker(out)
    secure.start(tmp_path_factory.mktemp("mosquitto"))
    yield secure
    secure.stop()


@dataclass
class Seen:
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def until(self, topic: str, payload: bytes) -> list[tuple[str, bytes]]:
        async with asyncio.timeout(TIMEOUT):
            while (topic, payload) not in self.messages:
                self.changed.clear()
                await self.changed.wait()
        return self.messages


@contextlib.asynccontextmanager
async def watching(client: aiomqtt.Client, topic: str = "#") -> AsyncIterator[Seen]:
    """Subscribe ``client`` to ``topic``; collect what arrives (retained messages left out)."""
    seen = Seen()

    async def collect() -> None:
        async for message in client.messages:
            if not message.retain:
                seen.messages.append((message.topic.value, bytes(message.payload)))
                seen.changed.set()

    async with client:
        await client.subscribe(topic, qos=1)
        task = asyncio.create_task(collect())
        try:
            yield seen
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_anonymous_and_wrong_passwords_are_refused(broker: SecureBroker) -> None:
    for client in (
        broker.client(None),
        broker.client("viewer", "not-the-password"),
        broker.client("no-such-user", broker.password("viewer")),
        broker.client(None, tls=True),
        broker.client("operator", "wrong", tls=True),
    ):
        with pytest.raises(aiomqtt.MqttError):
            async with client:
                pass


async def test_a_device_can_neither_forge_another_devices_status_nor_send_commands(
    broker: SecureBroker,
) -> None:
    async with watching(broker.client("viewer")) as seen, broker.client("device-hv") as hv:
        for topic in (
            "/lv/status",
            "/lv/availability",
            "/lv/cmd/switch/0",
            "/hv/cmd/switch/0",
            "/interlock/inhibit",
            "/interlock/inhibit/hv",
        ):
            await hv.publish(topic, b"forged", qos=1)
        await hv.publish("/hv/status", b"marker", qos=1)  # its own: allowed, and after the others
        messages = await seen.until("/hv/status", b"marker")
    assert messages == [("/hv/status", b"marker")]


async def test_a_device_reads_only_its_own_commands(broker: SecureBroker) -> None:
    async with watching(broker.client("device-hv")) as hv, broker.client("operator") as operator:
        await operator.publish("/lv/cmd/switch/0", b"on", qos=1)
        await operator.publish("/M1/cmd/on", b"", qos=1)
        await operator.publish("/hv/cmd/switch/0", b"on", qos=1)
        messages = await hv.until("/hv/cmd/switch/0", b"on")
    assert messages == [("/hv/cmd/switch/0", b"on")]


@pytest.mark.parametrize("user", ["viewer", "archiver", "device-lv"])
async def test_only_operators_command(broker: SecureBroker, user: str) -> None:
    async with watching(broker.client("device-hv"), "/hv/cmd/#") as hv:
        async with broker.client(user) as other:
            await other.publish("/hv/cmd/setv/0", user.encode(), qos=1)
        async with broker.client("operator") as operator:
            await operator.publish("/hv/cmd/setv/0", b"operator", qos=1)
        async with broker.client("nodered") as nodered:
            await nodered.publish("/hv/cmd/setv/0", b"nodered", qos=1)
        messages = await hv.until("/hv/cmd/setv/0", b"nodered")
    assert messages == [("/hv/cmd/setv/0", b"operator"), ("/hv/cmd/setv/0", b"nodered")]


async def test_the_archiver_may_ask_for_a_rebirth_and_the_safety_service_switch_off(
    broker: SecureBroker,
) -> None:
    async with watching(broker.client("device-hv"), "/hv/cmd/#") as hv:
        async with broker.client("archiver") as archiver:
            await archiver.publish("/hv/cmd/rebirth", b"", qos=1)
        async with broker.client("safety") as safety:
            await safety.publish("/hv/cmd/switch/0", b"off", qos=1)
        messages = await hv.until("/hv/cmd/switch/0", b"off")
    assert messages == [("/hv/cmd/rebirth", b""), ("/hv/cmd/switch/0", b"off")]


async def test_tls_with_the_generated_ca_works_and_plain_tcp_is_refused_outside(broker: SecureBroker) -> None:
    async with (
        watching(broker.client("viewer", tls=True)) as seen,
        broker.client("device-env", tls=True) as env,
    ):
        await env.publish("/env/status", b'{"temperature": 20.0}', qos=1)
        assert ("/env/status", b'{"temperature": 20.0}') in await seen.until(
            "/env/status", b'{"temperature": 20.0}'
        )
    assert await plain_connack(broker.external) is None
    assert await plain_connack(broker.internal) == CONNACK_NOT_AUTHORIZED  # the same bytes, inside


CONNECT_ANONYMOUS = bytes([0x10, 12, 0, 4, *b"MQTT", 4, 2, 0, 60, 0, 0])  # MQTT 3.1.1, clean session
CONNACK_NOT_AUTHORIZED = bytes([0x20, 2, 0, 5])


async def plain_connack(port: int) -> bytes | None:
    """Send a CONNECT over plain TCP; the CONNACK, or None if the broker just closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(CONNECT_ANONYMOUS)
        await writer.drain()
        async with asyncio.timeout(TIMEOUT):
            answer = await reader.read(4)
    except ConnectionResetError:
        answer = b""
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return answer or None


async def test_a_certificate_from_another_ca_is_not_trusted(broker: SecureBroker) -> None:
    untrusted = aiomqtt.Client(
        "127.0.0.1",
        broker.external,
        username="viewer",
        password=broker.password("viewer"),
        tls_context=ssl.create_default_context(),
    )
    with pytest.raises(aiomqtt.MqttError):
        async with untrusted:
            pass
