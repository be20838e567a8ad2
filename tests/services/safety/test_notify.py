"""Alarm notifications delivered through apprise to real local receivers (SMTP and HTTP)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable

import pytest

from tests.helpers import TIMEOUT, free_port
from tests.receivers import MailBox, WebHook, json_url, mail_url, ntfy_url
from trackerdcs.services.safety.notify import Notifier, redact

TITLE = "[ALARM] test-stand: dewpoint raised"
BODY = "dew-point margin 2.1 K below 3.0 K"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.02)


# -- delivery ----------------------------------------------------------------------------
async def test_alarm_arrives_once_by_email_json_and_ntfy(
    smtp: tuple[MailBox, int], hook: WebHook, ntfy: WebHook
) -> None:
    box, port = smtp
    notifier = Notifier([mail_url(port), json_url(hook.port), ntfy_url(ntfy.port)])
    assert len(notifier) == 3

    assert await notifier.notify("dewpoint:raised", TITLE, BODY, "alarm")

    await wait_for(lambda: all((box.messages, hook.posts, ntfy.posts)), "all three channels")
    assert box.subjects() == [TITLE]
    assert box.envelopes == [("dcs@lab.local", ["op@lab.local"])]
    assert BODY in box.text(0)

    [post] = hook.posts
    assert post.path == "/hook"
    assert (post.body["title"], post.body["message"], post.body["type"]) == (TITLE, BODY, "failure")

    [push] = ntfy.posts
    assert push.body["topic"] == "dcs-alarms"
    assert (push.body["title"], push.body["message"]) == (TITLE, BODY)
    assert notifier.suppressed == 0


@pytest.mark.parametrize(
    ("severity", "apprise_type"), [("warning", "warning"), ("alarm", "failure"), ("fatal", "failure")]
)
async def test_severity_sets_the_notification_type(hook: WebHook, severity: str, apprise_type: str) -> None:
    notifier = Notifier([json_url(hook.port)])
    title = f"[{severity.upper()}] test-stand: rule raised"

    assert await notifier.notify("rule:raised", title, BODY, severity)

    await wait_for(lambda: bool(hook.posts), "the webhook")
    [post] = hook.posts
    assert (post.body["title"], post.body["type"]) == (title, apprise_type)


# -- de-duplication and rate limit ---------------------------------------------------------------
async def test_flapping_alarm_is_sent_once(smtp: tuple[MailBox, int], hook: WebHook) -> None:
    box, port = smtp
    clock = FakeClock()
    notifier = Notifier([mail_url(port), json_url(hook.port)], min_interval=300.0, clock=clock)

    sent = [await notifier.notify("dewpoint:raised", TITLE, BODY, "alarm") for _ in range(50)]

    assert sent == [True] + [False] * 49
    assert notifier.suppressed == 49
    await wait_for(lambda: all((box.messages, hook.posts)), "both channels")
    assert len(box.messages) == 1
    assert len(hook.posts) == 1

    clock.now += 300.0  # the interval is over: the same alarm goes out again, with the count
    assert await notifier.notify("dewpoint:raised", TITLE, BODY, "alarm")
    await wait_for(lambda: len(box.messages) == 2 and len(hook.posts) == 2, "the second message")
    note = "[49 notification(s) suppressed since the last one sent: 49 repeated within 300 s]"
    assert hook.posts[1].body["message"] == f"{BODY}\n\n{note}"
    assert note in box.text(1)


async def test_concurrent_repeats_are_sent_once(hook: WebHook) -> None:
    notifier = Notifier([json_url(hook.port)], min_interval=60.0)

    sent = await asyncio.gather(*(notifier.notify("hv:raised", TITLE, BODY, "alarm") for _ in range(10)))

    assert sorted(sent) == [False] * 9 + [True]
    await wait_for(lambda: bool(hook.posts), "the webhook")
    assert len(hook.posts) == 1


async def test_rate_limit_suppresses_then_reports_the_count(
    hook: WebHook, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    notifier = Notifier([json_url(hook.port)], burst=3, per_minute=6.0, clock=clock)  # 1 per 10 s
    caplog.set_level(logging.INFO, logger="trackerdcs.services.safety.notify")

    sent = [await notifier.notify(f"rule{i}:raised", f"rule{i}", BODY, "alarm") for i in range(6)]

    assert sent == [True, True, True, False, False, False]
    assert notifier.suppressed == 3
    assert sum("over the rate limit" in r.getMessage() for r in caplog.records) == 3
    await wait_for(lambda: len(hook.posts) == 3, "the burst")

    clock.now += 9.0  # not yet a whole token
    assert not await notifier.notify("rule6:raised", "rule6", BODY, "alarm")
    clock.now += 1.0
    assert await notifier.notify("rule7:raised", "rule7", BODY, "alarm")

    await wait_for(lambda: len(hook.posts) == 4, "the message after the pause")
    assert [p.body["title"] for p in hook.posts] == ["rule0", "rule1", "rule2", "rule7"]
    assert hook.posts[3].body["message"] == (
        f"{BODY}\n\n[4 notification(s) suppressed since the last one sent: 4 over the rate limit "
        "(rule3:raised, rule4:raised, rule5:raised, rule6:raised)]"
    )
    assert notifier.suppressed == 4

    clock.now += 10.0  # the count was reported once: the next message carries no note
    assert await notifier.notify("rule8:raised", "rule8", BODY, "alarm")
    await wait_for(lambda: len(hook.posts) == 5, "the fifth message")
    assert hook.posts[4].body["message"] == BODY


# -- failures ----------------------------------------------------------------------------
async def test_unreachable_channel_returns_false_quickly(caplog: pytest.LogCaptureFixture) -> None:
    closed = free_port()
    notifier = Notifier([json_url(closed), mail_url(closed)])

    started = time.monotonic()
    assert not await notifier.notify("dewpoint:raised", TITLE, BODY, "alarm")
    assert not await notifier.notify("dewpoint:raised", TITLE, BODY, "alarm")  # not de-duplicated

    assert time.monotonic() - started < 5.0
    assert notifier.suppressed == 0
    warnings = [r for r in caplog.records if r.name == "trackerdcs.services.safety.notify"]
    assert [r.levelno for r in warnings] == [logging.WARNING] * 2


async def test_silent_channel_times_out(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        notifier = Notifier([json_url(port)], timeout=0.5)

        started = time.monotonic()
        assert not await notifier.notify("dewpoint:raised", TITLE, BODY, "alarm")
        assert time.monotonic() - started < 3.0

    assert any(
        r.levelno == logging.WARNING and r.name == "trackerdcs.services.safety.notify" for r in caplog.records
    )


async def test_count_is_reported_again_until_a_message_reaches_every_channel(hook: WebHook) -> None:
    clock = FakeClock()
    notifier = Notifier([json_url(hook.port), json_url(free_port())], burst=1, per_minute=6.0, clock=clock)
    note = "[1 notification(s) suppressed since the last one sent: 1 over the rate limit (b:raised)]"

    assert not await notifier.notify("a:raised", "a", BODY, "alarm")  # one channel is dead
    assert not await notifier.notify("b:raised", "b", BODY, "alarm")  # over the rate limit
    clock.now += 10.0
    assert not await notifier.notify("c:raised", "c", BODY, "alarm")
    clock.now += 10.0
    assert not await notifier.notify("d:raised", "d", BODY, "alarm")

    await wait_for(lambda: len(hook.posts) == 3, "the live channel")
    assert [p.body["message"] for p in hook.posts] == [BODY, f"{BODY}\n\n{note}", f"{BODY}\n\n{note}"]


@pytest.mark.parametrize(
    "url",
    [
        "nosuchscheme://operator:hunter2@mail.lab.local",
        "mailto://operator:hunter2@",
        "json://",
        "not a url",
    ],
)
def test_invalid_url_raises_at_construction(hook: WebHook, url: str) -> None:
    with pytest.raises(ValueError, match="not a valid apprise URL") as info:
        Notifier([json_url(hook.port), url])
    assert "hunter2" not in str(info.value)
    assert url.split(":")[0] in str(info.value)


def test_redact_masks_passwords_and_tokens() -> None:
    assert redact("mailtos://op:hunter2@smtp.lab/?from=a@b") == "mailtos://op:****@smtp.lab/?from=a@b"
    assert redact("json://host/hook?token=abc&x=1") == "json://host/hook?token=****&x=1"
    assert redact("ntfy://host/topic") == "ntfy://host/topic"
