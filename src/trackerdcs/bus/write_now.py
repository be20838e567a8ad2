"""Publishes written to the socket at once, not a few turns of the event loop later.

aiomqtt drives paho from the event loop: when paho has something to send, it asks for a
write watch on the socket, which aiomqtt adds with ``call_soon_threadsafe`` (paho may ask
from the thread that connects). So a publish reached the socket two turns of the loop
after it was made, and each turn first ran everything else that was ready: in a device
host, the other nineteen devices' statuses and commands, ahead of a `setv`'s reply. paho
writes at once by itself when no outside loop drives it; with one, it leaves that to the
loop. No option of either library asks for it, so this hook does what paho does alone
(docs/decisions/0035). The safety service keeps the loop's way, which writes a trip's
burst of switch-offs together.

On the loop's thread, with nothing waiting to be written (paho asks for a watch only
then), the packet is written here and now: everything paho has queued goes out, and
paho, finding nothing left, drops the watch it asked for, which was never added. If the
socket takes only part of it, the watch is added as aiomqtt does, and the rest goes out
when the socket is writable. From any other thread, aiomqtt's own way is kept.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import aiomqtt
import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)


def write_at_once(client: aiomqtt.Client) -> None:
    """Make ``client``'s publishes go to the socket as they are made; call on the loop's thread."""
    paho = client._client  # aiomqtt exposes no hook of its own
    watch = paho.on_socket_register_write
    if watch is None:
        return
    loop_thread = threading.get_ident()

    def register_write(pc: mqtt.Client, userdata: Any, sock: Any) -> None:
        if threading.get_ident() == loop_thread and _outside_callbacks(pc):
            try:
                pc.loop_write()
            except Exception:  # the watch's own write meets the error and ends the session
                log.debug("write at once failed; leaving it to the write watch", exc_info=True)
            if pc.socket() is None or not pc.want_write():  # all written, or the connection is gone
                return
        watch(pc, userdata, sock)

    paho.on_socket_register_write = register_write


def _outside_callbacks(pc: mqtt.Client) -> bool:
    """Whether no paho callback is running: writing a QoS 0 publish calls ``on_publish``
    under a lock that such a callback holds. paho checks the same before its own write."""
    lock = pc._in_callback_mutex
    if not lock.acquire(blocking=False):
        return False
    lock.release()
    return True
