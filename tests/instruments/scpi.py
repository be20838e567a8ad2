"""The little SCPI parsing the instrument emulators share.

The emulators are test code: they accept the long and short forms of a header the way
an instrument does (``OUTPUT:SEL`` = ``OUTP:SEL``), and nothing cleverer.
"""

from __future__ import annotations

from dataclasses import dataclass

VOWELS = "AEIOU"


def short_node(node: str) -> str:
    """SCPI's short form of one header node: four letters, three if the fourth is a vowel."""
    node = node.upper()
    if len(node) <= 4 or node.startswith("*"):
        return node
    return node[:3] if node[3] in VOWELS else node[:4]


@dataclass(frozen=True)
class Message:
    header: str  # short form, without a leading colon: OUTP:SEL
    argument: str  # what follows the header, stripped
    query: bool


def parse(line: str) -> Message:
    head, _, argument = line.strip().partition(" ")
    query = head.endswith("?")
    nodes = head.rstrip("?").lstrip(":").split(":")
    return Message(":".join(short_node(n) for n in nodes), argument.strip(), query)


def number(text: str) -> float:
    """A numeric argument; an instrument ignores what it cannot parse, so the caller decides."""
    return float(text.split(",")[0])
