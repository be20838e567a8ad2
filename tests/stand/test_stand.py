"""The stand file: the default stand, and errors that name the file, the key and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.stand import PASSWORD_ENV, StandError, load_stand, parse_stand

HV = '[[devices]]\nname = "hv"\nkind = "hv"\n'
LV = '[[devices]]\nname = "lv"\nkind = "lv"\n'


@pytest.fixture(autouse=True)
def _no_password_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment variable wins over the password file; keep it out of these tests."""
    monkeypatch.delenv(PASSWORD_ENV, raising=False)


# -- the default stand -------------------------------------------------------------------


def test_the_default_stand_has_the_seed_devices_and_env() -> None:
    stand = load_stand()
    assert stand.name == "demo"
    assert stand.source == "<default stand>"
    assert [d.name for d in stand.devices] == ["hv", "lv", "sensor_1", "env"]
    assert [d.kind for d in stand.devices] == ["hv", "lv", "dummy", "env"]
    assert all(d.driver == "sim" for d in stand.devices)
    hv = stand.device("hv")
    assert hv.channels == 1
    assert (hv.vmax, hv.ilimit, hv.ramp_up, hv.ramp_down) == (1000.0, 100e-6, 10.0, 10.0)
    assert stand.device("lv").channels == 1
    assert stand.device("env").sim == {"temperature": 20.0, "humidity": 30.0}
    assert stand.broker.url is None
    assert stand.has_safety


def test_the_default_stand_module_and_rules() -> None:
    stand = load_stand()
    module = stand.modules[0]
    assert (module.name, module.lv, module.hv) == ("M1", "lv:0", "hv:0")
    assert {rule.name for rule in stand.rules} >= {"dewpoint", "env_stale"}


def test_an_unknown_device_name_is_a_stand_error_naming_the_source() -> None:
    with pytest.raises(
        StandError, match=r"<default stand>: no device 'nope' \(devices: hv, lv, sensor_1, env\)"
    ):
        load_stand().device("nope")


def test_a_minimal_stand_gets_the_supply_defaults() -> None:
    stand = parse_stand(HV + LV, "x.toml")
    assert stand.source == "x.toml"
    assert stand.name == "stand"
    hv, lv = stand.devices
    assert (hv.vmax, hv.ilimit, hv.ramp_up, hv.ramp_max) == (1000.0, 100e-6, 10.0, 50.0)
    assert (lv.vmax, lv.ilimit, lv.ramp_up) == (12.0, 2.5, 12.0)
    assert (hv.channels, hv.period, hv.driver) == (1, 1.0, "sim")
    assert not stand.has_safety


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HV + "vmax = -1\n", "x.toml: devices[0] (hv).vmax: Input should be greater than 0"),
        (HV + "ilimit = 0\n", "x.toml: devices[0] (hv).ilimit: Input should be greater than 0"),
        (
            HV + "channels = 65\n",
            "x.toml: devices[0] (hv).channels: Input should be less than or equal to 64",
        ),
        (HV + LV + 'vmax = "a lot"\n', "x.toml: devices[1] (lv).vmax: Input should be a valid number"),
        (HV + "colour = 'red'\n", "x.toml: devices[0] (hv).colour: Extra inputs are not permitted"),
        ("colour = 1\n" + HV, "x.toml: colour: Extra inputs are not permitted"),
        (
            HV + "[broker]\npasword_file = 'x'\n",
            "x.toml: broker.pasword_file: Extra inputs are not permitted",
        ),
        (
            '[[devices]]\nname = "hv"\nkind = "xx"\n',
            "x.toml: devices[0] (hv).kind: Input should be 'hv', 'lv'",
        ),
        ('[[devices]]\nkind = "hv"\n', "x.toml: devices[0].name: Field required"),
        (
            '[[devices]]\nname = "h v"\nkind = "hv"\n',
            "x.toml: devices[0] (h v).name: String should match pattern",
        ),
        (
            HV + 'driver = "nope"\n',
            "x.toml: devices[0] (hv).driver: no driver 'nope' for kind 'hv' (known: caen_n1470, keithley2410, sim)",
        ),
        (HV + LV + HV, "x.toml: device names must be unique; repeated: hv"),
        ("devices = [", "x.toml: not valid TOML"),
        ("devices = []\n", "x.toml: devices: List should have at least 1 item"),
        ('name = "x"\n', "x.toml: devices: Field required"),
        (
            '[[devices]]\nname = "env"\nkind = "env"\nsim = { temperature = "hot" }\n',
            "x.toml: devices[0] (env).sim.temperature: Input should be a valid number",
        ),
        (
            '[broker]\nurl = "http://x"\n' + HV,
            "x.toml: broker.url: broker URL 'http://x': scheme must be mqtt:// or mqtts://",
        ),
        ('[broker]\nurl = "mqtt://h:99999"\n' + HV, "x.toml: broker.url: broker URL 'mqtt://h:99999': Port"),
        ('[broker]\nurl = "mqtt://:1883"\n' + HV, "x.toml: broker.url: broker URL 'mqtt://:1883': no host"),
        (
            '[broker]\nurl = "mqtt://h?protocol=4"\n' + HV,
            "x.toml: broker.url: broker URL 'mqtt://h?protocol=4': protocol",
        ),
        (HV + "[broker]\nbuffer = 0\n", "x.toml: broker.buffer: Input should be greater than or equal to 1"),
    ],
)
def test_a_wrong_stand_names_the_file_the_key_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(StandError) as info:
        parse_stand(text, "x.toml")
    assert str(info.value).startswith(message), str(info.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(StandError) as info:
        parse_stand(HV + "vmax = -1\nilimit = -1\n", "x.toml")
    problems = str(info.value).removeprefix("x.toml: ").split("; ")
    assert [p.split(":")[0] for p in problems] == ["devices[0] (hv).vmax", "devices[0] (hv).ilimit"]


def test_a_missing_stand_file_is_a_stand_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(StandError, match=r"nope\.toml: cannot read the stand file"):
        load_stand(path)


def test_an_error_in_a_stand_file_names_its_path(tmp_path: Path) -> None:
    path = tmp_path / "stand.toml"
    path.write_text(HV + "vmax = -1\n")
    with pytest.raises(StandError) as info:
        load_stand(path)
    assert str(info.value).startswith(f"{path}: devices[0] (hv).vmax")


# -- broker credentials ------------------------------------------------------------------


def test_a_password_file_beside_the_stand_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "mqtt-password").write_text("s3cret\n")
    stand_file = tmp_path / "stand.toml"
    stand_file.write_text(
        '[broker]\nurl = "mqtts://broker.example.org"\nusername = "operator"\n'
        'password_file = "secrets/mqtt-password"\nca_file = "secrets/ca.crt"\n' + HV
    )
    stand = load_stand(stand_file)
    assert stand.broker.password_file == tmp_path / "secrets" / "mqtt-password"
    assert stand.broker.ca_file == tmp_path / "secrets" / "ca.crt"
    settings = stand.broker_settings(BrokerSettings())
    assert (settings.host, settings.port, settings.tls) == ("broker.example.org", 8883, True)
    assert (settings.username, settings.password) == ("operator", "s3cret")
    assert settings.ca_file == str(tmp_path / "secrets" / "ca.crt")


def test_an_absolute_password_file_is_kept(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere" / "pw"
    secret.parent.mkdir()
    secret.write_text("abc")
    stand_dir = tmp_path / "stand"
    stand_dir.mkdir()
    stand_file = stand_dir / "stand.toml"
    stand_file.write_text(f'[broker]\npassword_file = "{secret}"\n' + HV)
    settings = load_stand(stand_file).broker_settings(BrokerSettings("fallback.host", 1999))
    assert (settings.host, settings.port, settings.password) == ("fallback.host", 1999, "abc")


def test_a_missing_password_file_names_broker_password_file(tmp_path: Path) -> None:
    stand_file = tmp_path / "stand.toml"
    stand_file.write_text('[broker]\nurl = "mqtt://op@localhost:1884"\npassword_file = "missing"\n' + HV)
    stand = load_stand(stand_file)  # loading does not read the secret yet
    with pytest.raises(StandError) as info:
        stand.broker_settings(BrokerSettings())
    message = str(info.value)
    assert message.startswith(f"{stand_file}: broker.password_file: cannot read {tmp_path / 'missing'}")


def test_the_password_environment_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    stand_file = tmp_path / "stand.toml"
    stand_file.write_text('[broker]\npassword_file = "missing"\n' + HV)
    settings = load_stand(stand_file).broker_settings(BrokerSettings())
    assert settings.password == "from-env"


def test_without_a_broker_url_the_fallback_is_used() -> None:
    settings = parse_stand(HV, "x.toml").broker_settings(BrokerSettings("127.0.0.1", 1885, protocol="3.1.1"))
    assert settings == BrokerSettings("127.0.0.1", 1885, protocol="3.1.1")
