"""Open a VISA instrument from a device's configuration, and serialise its I/O.

:class:`VisaSettings` reads the resource and ``options`` of a stand-file entry:

``backend``
    the pyvisa library: ``"@py"`` (pyvisa-py, the default), ``"file.yaml@sim"``, or
    ``"@sim"`` for the driver's own pyvisa-sim definition in ``drivers/sim/``.
``timeout``
    seconds a single query may take (default 2). Keep it shorter than the device
    service's I/O timeout (5 s) so a silent instrument raises here, in the driver,
    before the service gives up on the call (docs/decisions/0011).
``read_termination``, ``write_termination``
    line terminators (default ``"\\n"``).

:class:`VisaLink` opens the instrument on first use (never at import or in a
constructor), drops the connection after any error so that a late answer can never
pair with the next query, and holds one lock per instrument around each session:
a status poll cannot slip between a channel select and its write.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any, Generic, TypeVar

from pymeasure.adapters import VISAAdapter
from pyvisa.constants import ResourceAttribute, VisaBoolean

from trackerdcs.devices.config import DeviceConfig

log = logging.getLogger(__name__)

I = TypeVar("I")  # noqa: E741 - the instrument class

OPTIONS = ("backend", "timeout", "read_termination", "write_termination")


class InstrumentBusy(TimeoutError):
    """Another thread held the instrument's lock for longer than the timeout."""


@dataclass(frozen=True)
class VisaSettings:
    """How to reach one instrument."""

    resource: str
    backend: str = "@py"
    timeout: float = 2.0  # s per query
    read_termination: str = "\n"
    write_termination: str = "\n"

    @classmethod
    def from_config(cls, config: DeviceConfig, extra: tuple[str, ...] = ()) -> VisaSettings:
        """The settings of a stand-file entry; ``extra`` names the driver's own options.

        A ``ValueError`` names what is wrong.
        """
        if not config.resource:
            raise ValueError(f"{config.name}: driver {config.driver!r} needs a resource (a VISA address)")
        known = (*OPTIONS, *extra)
        unknown = sorted(set(config.options) - set(known))
        if unknown:
            raise ValueError(f"{config.name}: unknown options {unknown} (known: {', '.join(known)})")
        options: dict[str, Any] = {k: v for k, v in config.options.items() if k in OPTIONS}
        if "timeout" in options:
            options["timeout"] = float(options["timeout"])
            if not options["timeout"] > 0:
                raise ValueError(f"{config.name}: options.timeout must be above 0 s")
        if options.get("backend") == "@sim":
            options["backend"] = f"{sim_definition(config.driver)}@sim"
        return cls(resource=config.resource, **options)

    def adapter(self) -> VISAAdapter:
        """Open the resource (pyvisa's timeouts are in ms)."""
        ms = max(1, round(self.timeout * 1000))
        adapter = VISAAdapter(
            self.resource,
            visa_library=self.backend,
            timeout=ms,
            open_timeout=ms,
            read_termination=self.read_termination,
            write_termination=self.write_termination,
        )
        if self.resource.upper().endswith("::SOCKET"):
            _no_delay(adapter)
        return adapter


class VisaLink(Generic[I]):
    """One instrument behind one lock, opened on first use and reopened after an error."""

    def __init__(self, settings: VisaSettings, make: Callable[[VISAAdapter], I]) -> None:
        self.settings = settings
        self.opened = 0  # how often a connection was opened
        self._make = make
        self._lock = threading.RLock()
        self._adapter: VISAAdapter | None = None
        self._instrument: I | None = None

    @property
    def connected(self) -> bool:
        return self._instrument is not None

    @contextlib.contextmanager
    def session(self) -> Iterator[I]:
        """Hold the instrument for a sequence of I/O; an error drops the connection."""
        with self._locked():
            try:
                yield self._open()
            except Exception:
                self._drop()
                raise

    def reconnect(self) -> None:
        """Drop the connection; the next session opens it again."""
        with self._locked():
            self._drop()

    def close(self) -> None:
        self.reconnect()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if not self._lock.acquire(timeout=self.settings.timeout):
            raise InstrumentBusy(f"{self.settings.resource} busy for more than {self.settings.timeout:g} s")
        try:
            yield
        finally:
            self._lock.release()

    def _open(self) -> I:
        if self._instrument is None:
            adapter = self.settings.adapter()
            try:
                self._instrument = self._make(adapter)
            except Exception:
                _close_quietly(adapter)
                raise
            self._adapter = adapter
            self.opened += 1
            log.info("opened %s (%s)", self.settings.resource, self.settings.backend)
        return self._instrument

    def _drop(self) -> None:
        if self._adapter is not None:
            _close_quietly(self._adapter)
        self._adapter, self._instrument = None, None


def _no_delay(adapter: VISAAdapter) -> None:
    """Send each command at once.

    Without TCP_NODELAY, Nagle's algorithm holds a query behind the unacknowledged
    command before it (a channel select): 40 ms per exchange on Linux, 0.1 ms with it.
    pyvisa-py 0.8 lists VI_ATTR_TCPIP_NODELAY for sockets but its setter raises, so we
    set the option on the session's socket ourselves.
    """
    connection = adapter.connection
    try:
        connection.set_visa_attribute(ResourceAttribute.tcpip_nodelay, VisaBoolean.true)
        return
    except Exception as exc:
        log.debug("VI_ATTR_TCPIP_NODELAY refused (%s); setting it on the socket", exc)
    session = getattr(connection.visalib, "sessions", {}).get(connection.session)
    sock = getattr(session, "interface", None)
    if isinstance(sock, socket.socket):  # pyvisa-sim has no socket to tune
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def instrument_number(value: object) -> float:
    """A measurement as a float; pymeasure hands back unparsable answers as they came."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number from the instrument, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number from the instrument, got {value!r}")
    return number


def sim_definition(driver: str) -> str:
    """The path of a driver's pyvisa-sim YAML file (package data)."""
    return str(resources.files("trackerdcs.devices.drivers.sim") / f"{driver}.yaml")


def _close_quietly(adapter: VISAAdapter) -> None:
    try:
        adapter.close()
    except Exception as exc:  # a dead connection may not close cleanly; it is gone either way
        log.debug("closing %s: %s", adapter, exc)
