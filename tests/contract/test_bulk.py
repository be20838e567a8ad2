"""A switch without a channel: every channel off, or the channels listed; never on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trackerdcs.contract.bulk import MAX_CHANNELS, channel_ranges, parse_switch_off, switch_off_payload
from trackerdcs.contract.payloads import MAX_PAYLOAD_BYTES, CommandRejected, Reason


@pytest.mark.parametrize("text", ["off", "OFF", "0", "false", '"off"'])
def test_off_means_every_channel(text: str) -> None:
    assert parse_switch_off(text) is None


def test_a_list_names_its_channels_sorted_and_once() -> None:
    assert parse_switch_off('{"off": [5, 0, 5, 3]}') == [0, 3, 5]


@pytest.mark.parametrize("text", ["on", "1", "true"])
def test_on_needs_a_channel(text: str) -> None:
    with pytest.raises(CommandRejected) as refused:
        parse_switch_off(text)
    assert refused.value.reason is Reason.BAD_TOPIC
    assert "needs a channel" in refused.value.message


@pytest.mark.parametrize(
    "text",
    [
        "perhaps",
        "",
        "{",
        '{"off": []}',
        '{"off": [-1]}',
        '{"off": [true]}',
        '{"off": [1.5]}',
        '{"off": ["1"]}',
        '{"off": 3}',
        '{"on": [1]}',
        '{"off": [1], "on": [2]}',
    ],
)
def test_anything_else_is_a_bad_payload(text: str) -> None:
    with pytest.raises(CommandRejected) as refused:
        parse_switch_off(text)
    assert refused.value.reason is Reason.BAD_PAYLOAD


@given(st.lists(st.integers(0, 9999), min_size=1, max_size=MAX_CHANNELS, unique=True))
def test_the_payload_reads_back_and_fits_a_command(channels: list[int]) -> None:
    payload = switch_off_payload(channels)
    assert len(payload.encode()) < MAX_PAYLOAD_BYTES
    assert parse_switch_off(payload) == sorted(channels)


@pytest.mark.parametrize(
    ("channels", "text"),
    [([0], "0"), ([0, 1, 2, 3], "0-3"), ([9, 7, 0, 1, 10], "0-1, 7, 9-10"), ([], "")],
)
def test_channel_ranges_are_readable(channels: list[int], text: str) -> None:
    assert channel_ranges(channels) == text
