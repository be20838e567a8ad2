"""Ph2_ACF's output: ``DD.MM.YYYY HH:MM:SS: |<thread>|I| text`` in local time, with colours."""

from __future__ import annotations

import sys
import threading
import time

COLOURS = {"I": "\x1b[1m\x1b[32m", "W": "\x1b[1m\x1b[33m", "E": "\x1b[1m\x1b[31m", "D": "\x1b[36m"}
RESET = "\x1b[0m"


def log(text: str, level: str = "I") -> None:
    stamp = time.strftime("%d.%m.%Y %H:%M:%S", time.localtime())
    sys.stdout.write(f"{stamp}: |{threading.get_ident()}|{level}| {COLOURS[level]}{text}{RESET}\n")
    sys.stdout.flush()


def plain(text: str, stream: object = None) -> None:
    out = sys.stderr if stream == "err" else sys.stdout
    out.write(text + "\n")
    out.flush()
