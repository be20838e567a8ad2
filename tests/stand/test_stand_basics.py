"""The stand file: the default stand, one-line errors, secrets beside the file, the README example."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.stand import StandError, load_stand, parse_stand

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


MODULE_STAND = """
[[devices]]
name = "hv"
kind = "hv"
[[devices]]
name = "lv"
kind = "lv"
[[modules]]
name = "M1"
lv = "lv:0"
hv = "hv:0"
"""


def test_the_readme_stand_example_is_valid() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    blocks = readme.split("```toml\n")[1:]
    assert blocks, "the README shows a stand file"
    for block in blocks:
        text = block.split("```", 1)[0]
        if "[[devices]]" not in text and "[daq]" in text:  # the [daq] fragment names module M1
            text = MODULE_STAND + text
        elif "[[devices]]" not in text:  # a fragment, e.g. [deploy]: checked inside a minimal stand
            text = '[[devices]]\nname = "hv"\nkind = "hv"\n' + text
        stand = parse_stand(text, "README.md")
        assert stand.devices
