"""The console in the stack: where it listens, its health probe, and its users file.

The console (``dcs web run``) sits behind the gateway at ``/console/``. Its users file
(bcrypt hashes only) lives in ``console/`` of the deployment, mounted read-write as the
console's data directory, so that ``docker compose exec console dcs web adduser`` and
``dcs web adduser --users DIR/console/console-users.json`` on the host both work and the
running console sees the new user at the next login. One expert, ``admin``, is kept by
``dcs deploy`` itself: its password is the secret ``console-admin``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from trackerdcs.deploy import images as im
from trackerdcs.services.console.settings import USERS_FILE
from trackerdcs.services.console.users import Role, Users

log = logging.getLogger(__name__)

PORT = 8080
ROOT_PATH = "/console"  # the gateway's prefix, which uvicorn adds back as the root path
UPSTREAM = f"console:{PORT}"
ADMIN = "admin"
ADMIN_SECRET = "console-admin"
FOLDER = "console"  # in the deployment directory; the console's data directory in its container
USERS_IN_CONTAINER = f"{im.DATA_IN_CONTAINER}/{USERS_FILE}"
# The image has Python but neither curl nor wget; /healthz needs no session.
PROBE = (
    "import json, urllib.request as r; "
    f"assert json.load(r.urlopen('http://127.0.0.1:{PORT}/healthz', timeout=4))['ok']"
)


def users_file(out: Path) -> Path:
    return out / FOLDER / USERS_FILE


def ensure_admin(out: Path, password: str) -> Path:
    """Make ``admin`` an expert with ``password`` in the users file; keep every other user.

    The hash is rewritten only when it does not match (first run, ``--regenerate-secrets``,
    or a changed secret file), so a re-run leaves the file as it was.
    """
    path = users_file(out)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    users = Users(path)
    user = users.verify(ADMIN, password)
    if user is not None and user.role is Role.EXPERT:
        log.info("console users: %s kept, %d users in %s", ADMIN, len(users), path)
        return path
    users.add(ADMIN, Role.EXPERT, password)  # written 0600, atomically
    log.info("console users: %s set from secrets/%s, %d users in %s", ADMIN, ADMIN_SECRET, len(users), path)
    return path
