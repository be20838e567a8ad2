"""The console's users file: names, roles and bcrypt password hashes, never passwords.

A JSON file (``{"users": {"alice": {"role": "operator", "hash": "$2b$..."}}}``) kept with
mode 0600 and replaced atomically, so a crash while adding a user leaves the old file.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import bcrypt

from trackerdcs.contract.topics import NAME_RE

MIN_PASSWORD = 8


class Role(IntEnum):
    """Ordered: each role may do what the ones below it may."""

    VIEWER = 1
    OPERATOR = 2
    EXPERT = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown role {text!r} (viewer, operator or expert)") from None


class UsersError(ValueError):
    """A users file that cannot be read, or a user that cannot be added; names the file."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role


class Users:
    """The users of one file, read at start and re-read when it changes on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, dict[str, str]] = {}
        self._mtime: float | None = None
        self.reload()

    def reload(self) -> None:
        """Read the file again if it changed (``dcs web adduser`` while the console runs)."""
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            self._entries, self._mtime = {}, None
            return
        if mtime != self._mtime:
            self._entries, self._mtime = _read(self.path), mtime

    def __len__(self) -> int:
        return len(self._entries)

    def verify(self, name: str, password: str) -> User | None:
        """The user, if the password is theirs (bcrypt: slow on purpose, run it in a thread)."""
        self.reload()
        entry = self._entries.get(name)
        if entry is None:
            bcrypt.checkpw(password.encode(), _DUMMY)  # as slow for an unknown name as for a known one
            return None
        if not bcrypt.checkpw(password.encode(), entry["hash"].encode()):
            return None
        return User(name, Role.parse(entry["role"]))

    def add(self, name: str, role: Role, password: str) -> None:
        """Add the user, or replace their role and password."""
        if not NAME_RE.fullmatch(name):
            raise UsersError(f"invalid user name {name!r}: letters, digits, '_', '-' or '.'")
        if len(password) < MIN_PASSWORD:
            raise UsersError(f"the password must have at least {MIN_PASSWORD} characters")
        self.reload()
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
        entries = {**self._entries, name: {"role": role.label, "hash": hashed}}
        _write(self.path, entries)
        self._entries, self._mtime = entries, self.path.stat().st_mtime


_DUMMY = bcrypt.hashpw(b"not a password", bcrypt.gensalt(rounds=4))


def _read(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsersError(f"{path}: cannot read the users file: {exc}") from None
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict):
        raise UsersError(f'{path}: expected {{"users": {{NAME: {{"role", "hash"}}}}}}')
    for name, entry in users.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("hash"), str):
            raise UsersError(f"{path}: users.{name}: expected an object with 'role' and 'hash'")
        try:
            Role.parse(str(entry.get("role")))
        except ValueError as exc:
            raise UsersError(f"{path}: users.{name}.role: {exc}") from None
    return users


def _write(path: Path, entries: dict[str, dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:  # mkstemp makes it 0600
            json.dump({"users": entries}, out, indent=2, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
