"""Service pieces without a broker: the stand file, the outbox, the command handler."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from trackerdcs.contract.payloads import Reason
from trackerdcs.contract.topics import Inbound
from trackerdcs.devices.base import Device, Sample
from trackerdcs.devices.clock import ManualClock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.registry import create_device
from trackerdcs.services.broker import mosquitto_config
from trackerdcs.services.commands import CommandHandler
from trackerdcs.services.device_io import DeviceIO
from trackerdcs.services.mqtt import BrokerSettings, BrokerUrlError
from trackerdcs.services.outbox import Outbox, Outgoing
from trackerdcs.services.stand import StandError, load_stand, parse_stand

HV = '[[devices]]\nname = "hv"\nkind = "hv"\n'


def test_the_default_stand_reproduces_the_seed_and_adds_env() -> None:
    stand = load_stand()
    assert [d.name for d in stand.devices] == ["hv", "lv", "sensor_1", "env"]
    assert [d.channels for d in stand.devices[:2]] == [1, 1]
    assert stand.modules[0].lv == "lv:0" and stand.modules[0].hv == "hv:0"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HV + "vmax = -1\n", "x.toml: devices[0] (hv).vmax: Input should be greater than 0"),
        (HV + "vmx = 3\n", "x.toml: devices[0] (hv).vmx: Extra inputs are not permitted"),
        ('[[devices]]\nname = "hv"\nkind = "xx"\n', "x.toml: devices[0] (hv).kind: Input should be"),
        (
            HV + 'driver = "nope"\n',
            "x.toml: devices[0] (hv).driver: no driver 'nope' for kind 'hv' (known: caen_n1470, keithley2410, sim)",
        ),
        (HV + HV, "x.toml: device names must be unique; repeated: hv"),
        ("devices = [", "x.toml: not valid TOML"),
        ('[broker]\nurl = "http://x"\n' + HV, "x.toml: broker.url: broker URL 'http://x': scheme must be"),
        (
            HV + '[[modules]]\nname = "M1"\nlv = "hv:0"\nhv = "hv:0"\n',
            "x.toml: modules[0] (M1).lv: hv is a hv device",
        ),
        (
            HV + '[[rules]]\nname = "r"\nsignal = "env.temperature"\nabove = 1\n',
            "x.toml: rules[0] (r).signal: no device",
        ),
    ],
)
def test_a_wrong_stand_file_names_the_file_the_key_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(StandError) as info:
        parse_stand(text, "x.toml")
    assert str(info.value).startswith(message)


def test_broker_password_comes_from_a_file_beside_the_stand(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s3cret\n")
    stand_file = tmp_path / "stand.toml"
    stand_file.write_text('[broker]\nurl = "mqtt://op@localhost:1884"\npassword_file = "secret"\n' + HV)
    settings = load_stand(stand_file).broker_settings(BrokerSettings())
    assert (settings.host, settings.port, settings.username, settings.password) == (
        "localhost",
        1884,
        "op",
        "s3cret",
    )
    (tmp_path / "secret").unlink()
    with pytest.raises(StandError, match=r"broker\.password_file: cannot read"):
        load_stand(stand_file).broker_settings(BrokerSettings())


def test_broker_urls() -> None:
    assert BrokerSettings.from_url("mqtts://a.b").port == 8883
    assert BrokerSettings.from_url("mqtt://h:1?protocol=3.1.1").protocol == "3.1.1"
    for bad in ("http://h", "mqtt://h:99999", "mqtt://:1", "mqtt://h?protocol=4"):
        with pytest.raises(BrokerUrlError):
            BrokerSettings.from_url(bad)


def test_generated_mosquitto_config(tmp_path: Path) -> None:
    lines = mosquitto_config(1884, tmp_path).splitlines()
    for line in ("listener 1884 127.0.0.1", "set_tcp_nodelay true", "persistence true"):
        assert line in lines


async def test_outbox_is_bounded_fifo_and_counts_what_it_drops() -> None:
    box = Outbox(3)
    for i in range(5):
        box.put(Outgoing("/t", str(i)))
    assert (len(box), box.dropped) == (3, 2)
    first = await box.peek()
    assert first.payload == "2"
    box.done(first)
    assert [(await box.peek()).payload, len(box)] == ["3", 2]


class Broken(Device):
    """A device whose driver fails, or hangs until released."""

    def __init__(self, release: threading.Event | None = None) -> None:
        super().__init__(DeviceConfig(name="hv", kind="hv"), ManualClock())
        self.release = release

    def read(self) -> Sample:
        return Sample(0.0, {})

    def handle(self, inbound: Inbound, text: str) -> str:
        if self.release is not None:
            self.release.wait(5)
            return "too late"
        raise RuntimeError("instrument on fire")


async def _rebirth() -> None:
    return None


def handler(device: Device, timeout: float = 1.0) -> CommandHandler:
    return CommandHandler(device, DeviceIO(device.name, timeout), lambda: 1.0, _rebirth)


@pytest.mark.parametrize(
    ("topic", "raw", "reason"),
    [
        ("/hv/cmd/setv/0", b"\xff\x00garbage", Reason.BAD_PAYLOAD),
        ("/hv/cmd/setv/0", b"9" * 100_000, Reason.BAD_PAYLOAD),
        ("/hv/cmd/setv/0", b"NaN", Reason.BAD_PAYLOAD),
        ("/hv/cmd/explode/0", b"1", Reason.UNKNOWN_COMMAND),
        ("/hv/cmd", b"1", Reason.BAD_TOPIC),
        ("/lv/cmd/setv/0", b"1", Reason.BAD_TOPIC),
    ],
)
async def test_every_bad_input_gets_a_rejection(topic: str, raw: bytes, reason: Reason) -> None:
    hv = create_device(DeviceConfig(name="hv", kind="hv"), ManualClock())
    reply = await handler(hv).handle(topic, raw)
    assert (reply.ok, reply.reason, reply.device) == (False, reason, "hv")
    assert len(reply.payload) <= 64


async def test_a_failing_driver_gives_device_error() -> None:
    reply = await handler(Broken()).handle("/hv/cmd/setv/0", b"10")
    assert (reply.ok, reply.reason) == (False, Reason.DEVICE_ERROR)
    assert "instrument on fire" in reply.message


async def test_a_hanging_driver_gives_device_error_after_the_timeout() -> None:
    release = threading.Event()
    try:
        reply = await handler(Broken(release), timeout=0.05).handle("/hv/cmd/setv/0", b"10")
    finally:
        release.set()
    assert (reply.ok, reply.reason) == (False, Reason.DEVICE_ERROR)
    assert "no answer within 0.05 s" in reply.message


def test_the_readme_stand_example_is_valid() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    blocks = readme.split("```toml\n")[1:]
    assert blocks, "the README shows a stand file"
    for block in blocks:
        text = block.split("```", 1)[0]
        if "[[devices]]" not in text:  # a fragment, e.g. [deploy]: checked inside a minimal stand
            text = '[[devices]]\nname = "hv"\nkind = "hv"\n' + text
        stand = parse_stand(text, "README.md")
        assert stand.devices
