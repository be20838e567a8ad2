"""Alarm notifications through apprise (e-mail, ntfy, webhooks, chat services...).

A :class:`Notifier` sends each alarm to every configured apprise URL, with two limits
so that a flapping or cascading alarm cannot flood the operators:

* de-duplication: the same alarm key is sent at most once per ``min_interval``;
* a global token bucket: ``burst`` messages at once, refilled at ``per_minute``.

Suppressed messages are counted and logged, and the next message that goes out says
how many were suppressed (and which alarms were over the rate limit), so nothing is
hidden silently. A dead notification channel never raises: apprise runs in a worker
thread under a timeout, and a failure is a logged warning and a ``False`` result.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from urllib.parse import parse_qsl, urlsplit

import apprise
from apprise import NotifyFormat, NotifyType

log = logging.getLogger(__name__)

NOTIFY_TYPES = {
    "warning": NotifyType.WARNING,
    "alarm": NotifyType.FAILURE,
    "fatal": NotifyType.FAILURE,
}
# Query parameters whose values are masked when a URL is quoted in an error message.
SECRET_PARAMS = re.compile(r"pass|pwd|token|secret|key|auth", re.IGNORECASE)
MAX_LISTED_KEYS = 10  # alarm keys named in a suppression note


def redact(url: str) -> str:
    """``url`` with its password (and any secret-looking query value) replaced by ``****``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1****@", url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}{colon}{'****' if colon else ''}@{host}"
    query = "&".join(
        f"{name}={'****' if SECRET_PARAMS.search(name) else value}"
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    return parts._replace(netloc=netloc, query=query).geturl()


class TokenBucket:
    """``burst`` tokens, refilled continuously at ``per_minute``; starts full."""

    def __init__(self, burst: int, per_minute: float, clock: Callable[[], float]) -> None:
        if burst < 1:
            raise ValueError("notification burst must be at least 1")
        if per_minute <= 0:
            raise ValueError("notification rate (per_minute) must be positive")
        self.burst = burst
        self.rate = per_minute / 60.0
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens < 1.0 - 1e-9:  # tolerate rounding in the refill
            return False
        self._tokens -= 1.0
        return True


def _load(urls: Sequence[str]) -> apprise.Apprise:
    """An apprise instance for ``urls``; ``ValueError`` names (masked) any it cannot parse."""
    bundle = apprise.Apprise()
    for url in urls:
        plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            raise ValueError(f"not a valid apprise URL: {redact(url)}")
        # Our token bucket is the rate limit. Apprise's own per-service throttle would
        # sleep (5.5 s between e-mails) inside the worker thread and eat the timeout.
        plugin.request_rate_per_sec = 0
        bundle.add(plugin)
    return bundle


class Notifier:
    """Send alarm notifications to apprise URLs, de-duplicated and rate limited."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        min_interval: float = 300.0,
        burst: int = 5,
        per_minute: float = 2.0,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(urls, str):
            raise TypeError("urls must be a list of apprise URLs, not one string")
        if min_interval < 0:
            raise ValueError("notification min_interval must not be negative")
        if timeout <= 0:
            raise ValueError("notification timeout must be positive")
        self.min_interval = min_interval
        self.timeout = timeout
        self.suppressed = 0  # all suppressed messages since start
        self._clock = clock
        self._bucket = TokenBucket(burst, per_minute, clock)
        self._apprise = _load(urls)
        self._count = len(urls)
        self._last_sent: dict[str, float] = {}  # key -> when it was last sent (or is in flight)
        self._repeats = 0  # suppressed since the last message sent: repeats within min_interval
        self._limited: list[str] = []  # ... and over the rate limit (keys, in order)

    def __len__(self) -> int:
        """The number of notification URLs."""
        return self._count

    async def notify(self, key: str, title: str, body: str, severity: str) -> bool:
        """Send one alarm notification; ``True`` if every URL accepted it.

        ``key`` identifies the alarm for de-duplication (e.g. ``"dewpoint:raised"``).
        Never raises for a suppressed message, an unreachable channel or a timeout.
        """
        if not self._count:
            return False
        now = self._clock()
        if self._is_repeat(key, now):
            self._repeats += 1
            self._suppress(key, title, f"repeated within {self.min_interval:g} s")
            return False
        if not self._bucket.take():
            self._limited.append(key)
            self._suppress(key, title, "over the rate limit")
            return False
        previous = self._last_sent.get(key)
        self._last_sent[key] = now  # reserved: concurrent repeats are suppressed
        note = self._suppression_note()
        repeats, limited = self._repeats, self._limited  # reported by this message
        self._repeats, self._limited = 0, []
        sent = await self._send(key, title, f"{body}\n\n{note}" if note else body, severity)
        if not sent:  # still to be reported, and the next one for this key goes through
            self._repeats += repeats
            self._limited = limited + self._limited
            if previous is None:
                self._last_sent.pop(key, None)
            else:
                self._last_sent[key] = previous
        return sent

    def _is_repeat(self, key: str, now: float) -> bool:
        if len(self._last_sent) > 256:
            self._last_sent = {k: t for k, t in self._last_sent.items() if now - t < self.min_interval}
        last = self._last_sent.get(key)
        return last is not None and now - last < self.min_interval

    def _suppress(self, key: str, title: str, why: str) -> None:
        self.suppressed += 1
        log.info(
            "notification %s suppressed (%s): %s; %d suppressed so far", key, why, title, self.suppressed
        )

    def _suppression_note(self) -> str:
        total = self._repeats + len(self._limited)
        if not total:
            return ""
        parts = []
        if self._repeats:
            parts.append(f"{self._repeats} repeated within {self.min_interval:g} s")
        if self._limited:
            keys = list(dict.fromkeys(self._limited))
            named = ", ".join(keys[:MAX_LISTED_KEYS])
            more = f" and {len(keys) - MAX_LISTED_KEYS} more" if len(keys) > MAX_LISTED_KEYS else ""
            parts.append(f"{len(self._limited)} over the rate limit ({named}{more})")
        return f"[{total} notification(s) suppressed since the last one sent: {'; '.join(parts)}]"

    async def _send(self, key: str, title: str, body: str, severity: str) -> bool:
        notify_type = NOTIFY_TYPES.get(severity)
        if notify_type is None:
            log.warning("notification %s: unknown severity %r, sent as a failure", key, severity)
            notify_type = NotifyType.FAILURE
        try:
            async with asyncio.timeout(self.timeout):
                result = await asyncio.to_thread(
                    self._apprise.notify,
                    body=body,
                    title=title,
                    notify_type=notify_type,
                    body_format=NotifyFormat.TEXT,
                    timeout=self.timeout,  # lets the worker thread give up too
                )
        except TimeoutError:
            log.warning("notification %s not sent: no answer within %g s", key, self.timeout)
            return False
        except Exception as exc:
            log.warning("notification %s not sent: %s: %s", key, type(exc).__name__, exc)
            return False
        if not result:
            log.warning("notification %s not sent to every channel (%s)", key, result.status.name)
            return False
        log.info("notification %s sent: %s", key, title)
        return True
