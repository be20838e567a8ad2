"""The users file and the sessions."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from trackerdcs.services.console.sessions import Sessions, Throttle
from trackerdcs.services.console.users import Role, User, Users, UsersError


def test_a_user_added_can_log_in_and_no_password_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    Users(path).add("alice", Role.OPERATOR, "s3cret-enough")
    assert Users(path).verify("alice", "s3cret-enough") == User("alice", Role.OPERATOR)
    assert Users(path).verify("alice", "wrong") is None
    assert Users(path).verify("bob", "s3cret-enough") is None
    assert "s3cret-enough" not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_adding_again_changes_the_role_and_a_running_console_sees_it(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    running = Users(path)
    assert len(running) == 0
    Users(path).add("alice", Role.VIEWER, "password-1")
    Users(path).add("alice", Role.EXPERT, "password-2")
    assert running.verify("alice", "password-2") == User("alice", Role.EXPERT)


def test_bad_names_and_short_passwords_are_refused(tmp_path: Path) -> None:
    users = Users(tmp_path / "users.json")
    with pytest.raises(UsersError, match="invalid user name"):
        users.add("al ice", Role.VIEWER, "long enough")
    with pytest.raises(UsersError, match="at least 8 characters"):
        users.add("alice", Role.VIEWER, "short")


def test_a_broken_users_file_names_the_file_and_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"users": {"alice": {"role": "admin", "hash": "x"}}}))
    with pytest.raises(UsersError, match=r"users\.json: users\.alice\.role: unknown role 'admin'"):
        Users(path)
    path.write_text("{")
    with pytest.raises(UsersError, match="cannot read the users file"):
        Users(path)


def test_sessions_end_when_unused_or_closed() -> None:
    now = [0.0]
    sessions = Sessions(idle_s=60.0, clock=lambda: now[0])
    alice = sessions.open(User("alice", Role.VIEWER))
    now[0] = 50.0
    assert sessions.get(alice.token) is alice  # use keeps it alive
    now[0] = 100.0
    assert sessions.get(alice.token) is alice
    now[0] = 161.0
    assert sessions.get(alice.token) is None
    bob = sessions.open(User("bob", Role.VIEWER))
    sessions.close(bob.token)
    assert sessions.get(bob.token) is None
    assert sessions.get(None) is None and sessions.get("forged") is None


def test_failed_logins_from_one_address_are_throttled() -> None:
    now = [0.0]
    throttle = Throttle(limit=3, window_s=60.0, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.wait_s("10.0.0.1") == 0.0
        throttle.failed("10.0.0.1")
    assert throttle.wait_s("10.0.0.1") == 60.0
    assert throttle.wait_s("10.0.0.2") == 0.0  # others are not punished
    now[0] = 61.0
    assert throttle.wait_s("10.0.0.1") == 0.0
    throttle.failed("10.0.0.1")
    throttle.succeeded("10.0.0.1")
    assert throttle.wait_s("10.0.0.1") == 0.0
