"""What `dcs deploy` writes for the console: its compose service, its broker account, its
route in the gateway, and its users file with the generated admin, kept across runs."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

import bcrypt
import pytest

from tests.deploying import compose, env_file, run_deploy
from tests.helpers import dcs_argv
from trackerdcs.deploy import images as im
from trackerdcs.deploy.compose import CONSOLE_STORE, MONGO_INIT
from trackerdcs.deploy.console import ADMIN, ADMIN_SECRET, USERS_IN_CONTAINER, users_file
from trackerdcs.services.console.users import Role, Users


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("deployment")
    run_deploy(directory)
    return directory


def admin_password(out: Path) -> str:
    return (out / "secrets" / ADMIN_SECRET).read_text().strip()


def users(path: Path) -> dict[str, tuple[Role, str]]:
    """Each user's role and hash, read as the console reads the file."""
    import json

    entries = json.loads(path.read_text())["users"]
    return {name: (Role.parse(e["role"]), e["hash"]) for name, e in entries.items()}


def adduser(path: Path, name: str, role: str, password: str) -> None:
    argv = dcs_argv("web", "adduser", name, "--role", role, "--users", str(path))
    subprocess.run(argv, input=password + "\n", text=True, check=True, capture_output=True)


def test_the_console_runs_behind_the_gateway_on_the_stands_broker_and_archive(out: Path) -> None:
    service = compose(out)["services"]["console"]
    command = service["command"]
    assert command[:3] == ["dcs", "web", "run"]
    for option, value in [
        ("--host", "0.0.0.0"),
        ("--port", "8080"),
        ("--root-path", "/console"),
        ("--forwarded-allow-ips", "*"),
        ("--users", USERS_IN_CONTAINER),
        ("--broker", "mqtt://console@mosquitto:1883"),  # its own account, password from the env
        ("--archive", "influxdb://grafana@influxdb:8086/dcs"),  # InfluxDB's read-only user
    ]:
        assert command[command.index(option) + 1] == value, option
    assert "--no-local-login" in command
    assert service["environment"]["DCS_MQTT_PASSWORD"] == "${MQTT_CONSOLE}"
    assert service["environment"]["DCS_ARCHIVE_PASSWORD"] == "${INFLUXDB_GRAFANA}"
    assert service["environment"]["DCS_CONSOLE_USERS"] == USERS_IN_CONTAINER
    assert "ports" not in service  # reached through the gateway only
    assert compose(out, "docker-compose.dev.yml")["services"]["console"]["ports"] == ["127.0.0.1:8080:8080"]
    assert compose(out)["services"]["gateway"]["depends_on"]["console"] == {"condition": "service_healthy"}


def test_the_runs_page_reads_the_stacks_mongodb_as_a_read_only_user(out: Path) -> None:
    service = compose(out)["services"]["console"]
    command = service["command"]
    assert command[command.index("--store") + 1] == CONSOLE_STORE
    assert CONSOLE_STORE.startswith("mongodb://console@mongodb:27017/")
    assert service["environment"]["DCS_RUNSTORE_PASSWORD"] == "${MONGODB_CONSOLE}"
    assert service["depends_on"]["mongodb"] == {"condition": "service_healthy"}
    init = (out / MONGO_INIT).read_text()
    assert re.search(
        r'user: "console",\s*pwd: process.env.MONGO_CONSOLE_PASSWORD,\s*roles: \[\{ role: "read"', init
    )
    mongo = compose(out)["services"]["mongodb"]["environment"]
    assert mongo["MONGO_CONSOLE_PASSWORD"] == "${MONGODB_CONSOLE}"
    assert "MONGODB_CONSOLE" in env_file(out)


def test_the_users_file_is_mounted_writable_into_a_container_of_its_owner(out: Path) -> None:
    service = compose(out)["services"]["console"]
    assert f"./console:{im.DATA_IN_CONTAINER}" in service["volumes"]  # the folder: adduser replaces the file
    assert USERS_IN_CONTAINER.startswith(im.DATA_IN_CONTAINER + "/")
    assert service["user"] == "${DCS_UID}:${DCS_GID}"
    probe = service["healthcheck"]["test"]
    assert probe[:3] == ["CMD", "python", "-c"] and "/healthz" in probe[3]
    assert "console/" in (out / ".dockerignore").read_text().splitlines()


def test_the_console_has_an_operators_broker_account_and_its_own_topics(out: Path) -> None:
    blocks = (out / "mosquitto/acl").read_text().split("\n\n")
    block = next(b for b in blocks if "\nuser console\n" in b + "\n")
    writes = sorted(line.split()[-1] for line in block.splitlines() if line.startswith("topic write"))
    reads = [line.split()[-1] for line in block.splitlines() if line.startswith("topic read")]
    assert writes == ["/+/cmd/#", "/console/#", "/env/sim/#", "/hv/sim/#", "/lv/sim/#", "/sensor_1/sim/#"]
    assert reads == ["#"]
    assert "MQTT_CONSOLE" in env_file(out)


def test_the_gateway_proxies_the_console_with_the_browsers_host_and_websockets(out: Path) -> None:
    conf = (out / "gateway/nginx.conf").read_text()
    assert "location = /console {\n            return 301 /console/;" in conf
    found = re.search(r"location /console/ \{(.*?)\}", conf, re.S)
    assert found, conf
    block = [line.strip() for line in found.group(1).splitlines() if line.strip()]
    assert block[0] == "proxy_pass http://console/;"  # the prefix is stripped: uvicorn's root path
    for header in (
        "Host $http_host",  # with the port, as the browser's Origin has it
        "X-Forwarded-Host $http_host",
        "X-Forwarded-Proto https",  # so the session cookie is Secure
        "X-Forwarded-For $remote_addr",  # not the client's own: the login throttle is per address
        "Upgrade $http_upgrade",
        "Connection $connection_upgrade",
    ):
        assert f"proxy_set_header {header};" in block, header
    assert "server console:8080;" in conf


def test_the_admin_is_an_expert_whose_password_is_the_secret(out: Path) -> None:
    path = users_file(out)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    role, hashed = users(path)[ADMIN]
    assert role is Role.EXPERT
    assert bcrypt.checkpw(admin_password(out).encode(), hashed.encode())
    assert admin_password(out) not in path.read_text()
    assert Users(path).verify(ADMIN, admin_password(out)) is not None


def test_a_rerun_keeps_the_file_and_the_users_added_in_production(tmp_path: Path) -> None:
    run_deploy(tmp_path)
    path = users_file(tmp_path)
    adduser(path, "alice", "operator", "alice-password")
    before = path.read_bytes()
    output = run_deploy(tmp_path)
    assert path.read_bytes() == before  # nothing rehashed
    assert admin_password(tmp_path) not in output
    # the file's admin entry is the deployment's: a lost role or password is put back
    adduser(path, ADMIN, "viewer", "another-password")
    run_deploy(tmp_path)
    assert users(path)[ADMIN][0] is Role.EXPERT
    assert Users(path).verify(ADMIN, admin_password(tmp_path)) is not None
    old = admin_password(tmp_path)
    run_deploy(tmp_path, "--regenerate-secrets")
    assert admin_password(tmp_path) != old
    assert Users(path).verify(ADMIN, old) is None
    assert Users(path).verify(ADMIN, admin_password(tmp_path)) is not None
    assert Users(path).verify("alice", "alice-password") is not None
