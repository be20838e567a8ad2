"""Reading a stand file: TOML in, a validated :class:`Stand` out, or one clear error.

A wrong file gives one message that names the file, the key (spelled as in TOML,
with the device's name) and the problem. Relative paths in the file are resolved
against the file's own folder.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from trackerdcs.stand.errors import StandError
from trackerdcs.stand.model import Stand


def default_stand_text() -> str:
    return resources.files("trackerdcs").joinpath("stands/default.toml").read_text()


def load_stand(path: Path | str | None = None) -> Stand:
    """Load and validate a stand file (the default stand when ``path`` is None)."""
    if path is None:
        return parse_stand(default_stand_text(), "<default stand>")
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise StandError(f"{path}: cannot read the stand file: {exc.strerror}") from None
    stand = parse_stand(text, str(path))
    base = path.parent
    if stand.broker.password_file and not stand.broker.password_file.is_absolute():
        stand.broker.password_file = base / stand.broker.password_file
    if stand.broker.ca_file and not stand.broker.ca_file.is_absolute():
        stand.broker.ca_file = base / stand.broker.ca_file
    if stand.archive.secret_file and not stand.archive.secret_file.is_absolute():
        stand.archive.secret_file = base / stand.archive.secret_file
    if stand.daq is not None:
        for key in ("workdir", "store_secret_file"):
            value = getattr(stand.daq, key)
            if value is not None and not value.is_absolute():
                setattr(stand.daq, key, base / value)
    for key in ("tls_cert", "tls_key"):
        value = getattr(stand.deploy, key)
        if value is not None and not value.is_absolute():
            setattr(stand.deploy, key, base / value)
    return stand


def parse_stand(text: str, source: str) -> Stand:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StandError(f"{source}: not valid TOML: {exc}") from None
    try:
        stand = Stand.model_validate(data)
    except ValidationError as exc:
        raise StandError(f"{source}: {_describe(exc, data)}") from None
    stand.source = source
    return stand


def _describe(exc: ValidationError, data: dict[str, object]) -> str:
    problems = []
    for error in exc.errors():
        key = _key(error["loc"], data)
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{key}: {message}" if key else message)
    return "; ".join(problems)


def _key(loc: tuple[int | str, ...], data: dict[str, object]) -> str:
    """Spell a pydantic location as a TOML key, naming the device: devices[1] (lv).vmax."""
    parts: list[str] = []
    node: object = data
    for item in loc:
        node = _child(node, item)
        if isinstance(item, int) and parts:
            name = node.get("name") if isinstance(node, dict) else None
            parts[-1] += f"[{item}]" + (f" ({name})" if name else "")
        else:
            parts.append(str(item))
    return ".".join(parts)


def _child(node: object, item: int | str) -> object:
    if isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node):
        return node[item]
    if isinstance(node, dict):
        return node.get(item)
    return None
