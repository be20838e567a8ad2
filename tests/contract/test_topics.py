"""Topic names of the contract: building, parsing and refusing malformed topics."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trackerdcs.contract.topics import (
    MAX_TOPIC_LEN,
    NAME_RE,
    Action,
    DeviceTopics,
    Inbound,
    InterlockTopics,
    TopicError,
    check_name,
    device_of,
    parse_inbound,
    wildcard,
)

# -- building ----------------------------------------------------------------------------


def test_device_topics_are_the_seed_topics_with_a_leading_slash() -> None:
    topics = DeviceTopics("hv")
    assert topics.root == "/hv"
    assert topics.status == "/hv/status"
    assert topics.availability == "/hv/availability"
    assert topics.meta == "/hv/meta"
    assert topics.reply == "/hv/reply"
    assert topics.cmd_filter == "/hv/cmd/#"
    assert topics.sim_filter == "/hv/sim/#"


def test_command_and_steering_topics_with_and_without_a_channel() -> None:
    topics = DeviceTopics("sensor_1")
    assert topics.cmd("setv", 0) == "/sensor_1/cmd/setv/0"
    assert topics.cmd("setv", 12) == "/sensor_1/cmd/setv/12"
    assert topics.cmd("rebirth") == "/sensor_1/cmd/rebirth"
    assert topics.sim("humidity") == "/sensor_1/sim/humidity"
    assert topics.sim("leakage_scale", 3) == "/sensor_1/sim/leakage_scale/3"


def test_every_device_topic_starts_with_a_slash() -> None:
    topics = DeviceTopics("lv")
    built = [
        topics.status,
        topics.availability,
        topics.meta,
        topics.reply,
        topics.cmd("switch", 0),
        topics.sim("uvlo"),
    ]
    assert all(topic.startswith("/lv/") for topic in built)


def test_interlock_topics_extend_the_device_topics() -> None:
    topics = InterlockTopics("interlock")
    assert topics.heartbeat == "/interlock/heartbeat"
    assert topics.inhibit == "/interlock/inhibit"
    assert topics.alarms == "/interlock/alarms"
    assert topics.events == "/interlock/events"
    assert topics.status == "/interlock/status"


@pytest.mark.parametrize("name", ["", "h v", "_hv", "-hv", ".hv", "hv/0", "hv+", "hv#", "a" * 65, "hé"])
def test_invalid_device_names_are_refused(name: str) -> None:
    with pytest.raises(TopicError, match="invalid device name"):
        DeviceTopics(name)


@pytest.mark.parametrize("name", ["hv", "HV2", "sensor_1", "a.b-c_d", "0", "a" * 64])
def test_valid_names(name: str) -> None:
    assert check_name(name) == name
    assert DeviceTopics(name).status == f"/{name}/status"


def test_an_invalid_command_name_is_refused_when_building() -> None:
    with pytest.raises(TopicError, match="invalid command"):
        DeviceTopics("hv").cmd("set v", 0)
    with pytest.raises(TopicError, match="invalid command"):
        DeviceTopics("hv").sim("")


@pytest.mark.parametrize("name", ["hv\n", "setv\n", "\nhv", "h\nv"])
def test_a_name_with_a_newline_is_invalid(name: str) -> None:
    with pytest.raises(TopicError):
        check_name(name)


@pytest.mark.parametrize("topic", ["/hv\n/cmd/setv/0", "/hv/cmd/setv\n/0", "/hv/cmd/setv\n"])
def test_a_topic_with_a_newline_in_a_name_is_refused(topic: str) -> None:
    with pytest.raises(TopicError):
        parse_inbound(topic)


# -- parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("/hv/cmd/setv/0", Inbound("hv", Action.CMD, "setv", 0)),
        ("/hv/cmd/switch/63", Inbound("hv", Action.CMD, "switch", 63)),
        ("/hv/cmd/setv/0007", Inbound("hv", Action.CMD, "setv", 7)),
        ("/hv/cmd/setv/9999", Inbound("hv", Action.CMD, "setv", 9999)),
        ("/sensor_1/cmd/rebirth", Inbound("sensor_1", Action.CMD, "rebirth", None)),
        ("/env/sim/humidity", Inbound("env", Action.SIM, "humidity", None)),
        ("/hv/sim/leakage_scale/2", Inbound("hv", Action.SIM, "leakage_scale", 2)),
    ],
)
def test_parse_inbound(topic: str, expected: Inbound) -> None:
    inbound = parse_inbound(topic)
    assert inbound == expected
    assert isinstance(inbound.action, Action)


def test_built_topics_parse_back() -> None:
    topics = DeviceTopics("lv")
    assert parse_inbound(topics.cmd("seti", 5)) == Inbound("lv", Action.CMD, "seti", 5)
    assert parse_inbound(topics.sim("load_power")) == Inbound("lv", Action.SIM, "load_power", None)


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        # wrong number of levels
        ("/hv/cmd", "expected /<device>/cmd|sim/<name>"),
        ("/hv", "expected /<device>/cmd|sim/<name>"),
        ("/hv/cmd/setv/0/1", "expected /<device>/cmd|sim/<name>"),
        ("/hv/status", "expected /<device>/cmd|sim/<name>"),
        ("", "expected /<device>/cmd|sim/<name>"),
        # no leading slash
        ("hv/cmd/setv/0", "expected /<device>/cmd|sim/<name>"),
        ("hv/cmd/setv", "expected /<device>/cmd|sim/<name>"),
        # bad action
        ("/hv/do/setv/0", "expected 'cmd' or 'sim'"),
        ("/hv/CMD/setv/0", "expected 'cmd' or 'sim'"),
        ("/hv/status/setv", "expected 'cmd' or 'sim'"),
        # bad channel
        ("/hv/cmd/setv/x", "channel must be a non-negative integer"),
        ("/hv/cmd/setv/-1", "channel must be a non-negative integer"),
        ("/hv/cmd/setv/00000", "channel must be a non-negative integer"),
        ("/hv/cmd/setv/", "channel must be a non-negative integer"),
        ("/hv/cmd/setv/1.5", "channel must be a non-negative integer"),
        ("/hv/cmd/setv/ 1", "channel must be a non-negative integer"),
        ("/hv/cmd/setv/١", "channel must be a non-negative integer"),  # Arabic-Indic one
        ("/hv/cmd/setv/²", "channel must be a non-negative integer"),  # superscript two
        # invalid names
        ("/h v/cmd/setv/0", "invalid device name"),
        ("//cmd/setv/0", "invalid device name"),
        ("/+/cmd/setv/0", "invalid device name"),
        ("/hv/cmd/se+tv/0", "invalid command"),
        ("/hv/cmd//0", "invalid command"),
        ("/hv/cmd/#", "invalid command"),
    ],
)
def test_malformed_topics_raise_topic_error(topic: str, message: str) -> None:
    with pytest.raises(TopicError, match=message):
        parse_inbound(topic)


def test_a_too_long_topic_is_refused_before_it_is_split() -> None:
    topic = "/hv/cmd/setv/" + "0" * (MAX_TOPIC_LEN - len("/hv/cmd/setv/") + 1)
    assert len(topic) == MAX_TOPIC_LEN + 1
    with pytest.raises(TopicError, match=f"longer than {MAX_TOPIC_LEN}"):
        parse_inbound(topic)
    with pytest.raises(TopicError, match="longer than"):
        parse_inbound("/" + "a" * 10_000)


def test_the_longest_valid_topic_parses() -> None:
    device, name = "d" * 64, "n" * 64
    topic = f"/{device}/cmd/{name}/9999"
    assert len(topic) <= MAX_TOPIC_LEN
    assert parse_inbound(topic) == Inbound(device, Action.CMD, name, 9999)


def test_topic_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_inbound("nonsense")


@pytest.mark.parametrize(
    ("topic", "device"),
    [
        ("/hv/status", "hv"),
        ("/hv/cmd/setv/0", "hv"),
        ("/env/meta", "env"),
        ("hv/status", None),
        ("/hv", None),
        ("/h v/status", None),
        ("/hv\n/status", None),
        ("", None),
    ],
)
def test_device_of(topic: str, device: str | None) -> None:
    assert device_of(topic) == device


def test_wildcard_matches_one_leaf_on_every_device() -> None:
    assert wildcard("status") == "/+/status"
    assert wildcard("availability") == "/+/availability"


# -- properties --------------------------------------------------------------------------

NAME_FIRST = string.ascii_letters + string.digits
NAME_REST = NAME_FIRST + "_.-"

names = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(NAME_FIRST),
    st.text(alphabet=NAME_REST, max_size=63),
)
channels = st.none() | st.integers(min_value=0, max_value=9999)

# Text built mostly from topic-like pieces, so that some of it parses.
topic_like = st.lists(
    st.sampled_from(["/", "hv", "cmd", "sim", "setv", "0", "12", "-1", "00000", "x", " ", "+", "#", "é"])
    | st.text(max_size=5),
    max_size=8,
).map("".join)


@given(st.text(max_size=300) | topic_like)
def test_any_text_parses_or_raises_topic_error(topic: str) -> None:
    try:
        inbound = parse_inbound(topic)
    except TopicError:
        return
    assert isinstance(inbound, Inbound)
    assert isinstance(inbound.action, Action)
    assert inbound.channel is None or 0 <= inbound.channel <= 9999
    assert NAME_RE.fullmatch(inbound.device) and NAME_RE.fullmatch(inbound.name)
    # What parses is exactly what the builder makes of the parts (modulo channel zero padding).
    rebuilt = DeviceTopics(inbound.device)._inbound(inbound.action, inbound.name, inbound.channel)
    assert parse_inbound(rebuilt) == inbound


@given(names, names, st.sampled_from(list(Action)), channels)
def test_build_then_parse_round_trips(device: str, name: str, action: Action, channel: int | None) -> None:
    topics = DeviceTopics(device)
    topic = topics.cmd(name, channel) if action is Action.CMD else topics.sim(name, channel)
    assert topic.startswith(f"/{device}/{action.value}/")
    assert parse_inbound(topic) == Inbound(device, action, name, channel)
    assert device_of(topic) == device
