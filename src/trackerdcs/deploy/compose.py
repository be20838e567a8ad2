"""The three compose files: production, dev ports, simulated devices.

``docker compose -f docker-compose.yml -f docker-compose.dev.yml -f
docker-compose.dummy.yml up -d`` starts everything. Our own services run one image
built from the repository (``Dockerfile`` at its root) and each runs a real ``dcs``
command. Secrets come from the ``.env`` (``${VAR}``) or as compose secrets (files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trackerdcs.deploy import images as im
from trackerdcs.deploy.accounts import ARCHIVER, HEALTH, SAFETY, SIM_DRIVER, device_user
from trackerdcs.deploy.grafana import ENV_ADMIN_PASSWORD, ENV_INFLUX_PASSWORD, ENV_SECRET_KEY, INFLUX_READER
from trackerdcs.deploy.mosquitto import INTERNAL_PORT, KEY_FILE
from trackerdcs.deploy.secrets import OWNER_GID, OWNER_UID, SecretStore
from trackerdcs.stand import Stand

Service = dict[str, Any]
HEALTH_TIMING = {"interval": "10s", "timeout": "5s", "retries": 5, "start_period": "20s"}
RESTART = "unless-stopped"
OWNER = "${" + OWNER_UID + "}:${" + OWNER_GID + "}"  # the user who ran dcs deploy


def _health(test: list[str]) -> dict[str, Any]:
    return {"test": test, **HEALTH_TIMING}


def _healthy(*names: str) -> dict[str, dict[str, str]]:
    return {n: {"condition": "service_healthy"} for n in names}


class ComposeBuilder:
    """Builds the three files' contents for one stand."""

    def __init__(self, stand: Stand, store: SecretStore, source: Path | None) -> None:
        self.stand, self.store, self.source = stand, store, source

    # -- our own services ----------------------------------------------------------
    def _dcs(self, user: str, args: list[str], env: dict[str, str] | None = None) -> Service:
        broker = f"mqtt://{user}@mosquitto:{INTERNAL_PORT}"
        service: Service = {"image": im.DCS_IMAGE}
        if self.source is not None:
            service["build"] = {"context": str(self.source), "dockerfile": "Dockerfile"}
        service |= {
            "command": ["dcs", *args, "--config", im.STAND_IN_CONTAINER, "--broker", broker],
            "environment": {"DCS_MQTT_PASSWORD": self.store.env(f"mqtt-{user}"), **(env or {})},
            "volumes": [f"./stand.toml:{im.STAND_IN_CONTAINER}:ro"],
            "restart": RESTART,
            "depends_on": _healthy("mosquitto"),
            "healthcheck": _health(["CMD", "dcs", "config", "check", im.STAND_IN_CONTAINER]),
        }
        return service

    def device(self, name: str) -> Service:
        return self._dcs(device_user(name), ["device", "run", name])

    def archiver(self) -> Service:
        db = self.stand.deploy.database
        service = self._dcs(
            ARCHIVER,
            [
                "archive",
                "run",
                "--archive",
                f"influxdb://{ARCHIVER}@influxdb:8086/{db}",
                "--data-dir",
                im.DATA_IN_CONTAINER,
            ],
            {"DCS_ARCHIVE_PASSWORD": self.store.env("influxdb-archiver")},
        )
        service["volumes"].append(f"archiver-spool:{im.DATA_IN_CONTAINER}")
        service["depends_on"] |= _healthy("influxdb")
        return service

    def safety(self) -> Service:
        # The alarm book must outlive the container: a restart inherits its alarms.
        service = self._dcs(SAFETY, ["safety", "run", "--data-dir", im.DATA_IN_CONTAINER])
        service["volumes"].append(f"safety-data:{im.DATA_IN_CONTAINER}")
        return service

    # -- third-party services ------------------------------------------------------
    def mosquitto(self) -> Service:
        probe = (
            f"mosquitto_sub -h 127.0.0.1 -p {INTERNAL_PORT} -u {HEALTH} "
            '-P "$$MQTT_HEALTH_PASSWORD" -t /health -E'
        )
        return {
            "image": im.MOSQUITTO,
            # mosquitto reads its password file only after dropping root to its own user,
            # who could not read our 0600 files: it runs as their owner instead.
            "user": OWNER,
            "restart": RESTART,
            "ports": ["8883:8883"],
            "environment": {"MQTT_HEALTH_PASSWORD": self.store.env(f"mqtt-{HEALTH}")},
            "volumes": [
                "./mosquitto/mosquitto.conf:/mosquitto/config/mosquitto.conf:ro",
                "./mosquitto/passwd:/mosquitto/config/passwd:ro",
                "./mosquitto/acl:/mosquitto/config/acl:ro",
                "./tls/ca.crt:/mosquitto/certs/ca.crt:ro",
                "./tls/mosquitto.crt:/mosquitto/certs/mosquitto.crt:ro",
                "./mosquitto/data:/mosquitto/data",
            ],
            "secrets": [{"source": "mosquitto_key", "target": Path(KEY_FILE).name}],
            "healthcheck": _health(["CMD-SHELL", probe]),
        }

    def influxdb(self) -> Service:
        env = {
            "INFLUXDB_DB": self.stand.deploy.database,
            "INFLUXDB_HTTP_AUTH_ENABLED": "true",
            "INFLUXDB_REPORTING_DISABLED": "true",
            # Go's collector at 4x the live heap: about 15 % less CPU per point written
            # (benchmarks/bench_archive.py), for memory a lab PC has to spare.
            "GOGC": "400",
            "INFLUXDB_ADMIN_USER": "admin",
            "INFLUXDB_ADMIN_PASSWORD": self.store.env("influxdb-admin"),
            "INFLUXDB_WRITE_USER": ARCHIVER,
            "INFLUXDB_WRITE_USER_PASSWORD": self.store.env("influxdb-archiver"),
            "INFLUXDB_READ_USER": INFLUX_READER,
            "INFLUXDB_READ_USER_PASSWORD": self.store.env("influxdb-grafana"),
        }
        return {
            "image": im.INFLUXDB,
            "restart": RESTART,
            "environment": env,
            "volumes": ["influxdb-data:/var/lib/influxdb"],
            "healthcheck": _health(["CMD", "curl", "-sf", "http://127.0.0.1:8086/ping"]),
        }

    def grafana(self) -> Service:
        env = {
            ENV_ADMIN_PASSWORD: self.store.env("grafana-admin"),
            ENV_SECRET_KEY: self.store.env("grafana-secret-key"),
            ENV_INFLUX_PASSWORD: self.store.env("influxdb-grafana"),
        }
        return {
            "image": im.GRAFANA,
            "restart": RESTART,
            "environment": env,
            "volumes": [
                "./grafana/grafana.ini:/etc/grafana/grafana.ini:ro",
                "./grafana/provisioning:/etc/grafana/provisioning:ro",
                "./grafana/dashboards:/var/lib/grafana/dashboards:ro",
                "grafana-data:/var/lib/grafana",
            ],
            "depends_on": _healthy("influxdb"),
            "healthcheck": _health(
                ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3000/api/health"]
            ),
        }

    def nodered(self) -> Service:
        return {
            "image": im.NODERED_IMAGE,
            "build": {"context": ".", "dockerfile": "nodered.Dockerfile"},
            "restart": RESTART,
            # Its generated user directory, holding private (0600) settings and credentials:
            # Node-RED runs as the files' owner to read them.
            "user": OWNER,
            "volumes": ["./nodered:/data"],
            "depends_on": _healthy("mosquitto"),
            "healthcheck": _health(["CMD", "node", "/healthcheck.js"]),
        }

    def mongodb(self) -> Service:
        ping = ["CMD", "mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"]
        return {
            "image": im.MONGODB,
            "restart": RESTART,
            "environment": {
                "MONGO_INITDB_ROOT_USERNAME": "root",
                "MONGO_INITDB_ROOT_PASSWORD": self.store.env("mongodb-root"),
            },
            "volumes": ["mongodb-data:/data/db"],
            "healthcheck": _health(ping),
        }

    def gateway(self) -> Service:
        return {
            "image": im.NGINX,
            "restart": RESTART,
            "ports": ["80:80", "443:443"],
            "volumes": [
                "./gateway/nginx.conf:/etc/nginx/nginx.conf:ro",
                f"./tls/gateway.crt:{im.GATEWAY_CERT}:ro",
            ],
            "secrets": [{"source": "gateway_key", "target": Path(im.GATEWAY_KEY).name}],
            "depends_on": _healthy("grafana", "nodered"),
            "healthcheck": _health(["CMD-SHELL", "nc -z 127.0.0.1 443"]),
        }

    # -- the files -----------------------------------------------------------------
    def production(self) -> dict[str, Any]:
        services: dict[str, Service] = {
            "mosquitto": self.mosquitto(),
            "influxdb": self.influxdb(),
            "archiver": self.archiver(),
            "grafana": self.grafana(),
            "nodered": self.nodered(),
            "mongodb": self.mongodb(),
            "gateway": self.gateway(),
        }
        if self.stand.has_safety:
            services["safety"] = self.safety()
        for d in self.stand.devices:
            if d.driver != SIM_DRIVER:
                services[f"device-{d.name}"] = self.device(d.name)
        volumes = [
            "influxdb-data",
            "archiver-spool",
            "safety-data",
            "grafana-data",
            "mongodb-data",
        ]
        return {
            "services": services,
            "volumes": {v: {} for v in volumes},
            "secrets": {
                "mosquitto_key": {"file": "./secrets/mosquitto.key"},
                "gateway_key": {"file": "./secrets/gateway.key"},
            },
        }

    def dev(self) -> dict[str, Any]:
        ports = {
            "mosquitto": f"127.0.0.1:{INTERNAL_PORT}:{INTERNAL_PORT}",
            "influxdb": "127.0.0.1:8086:8086",
            "grafana": "127.0.0.1:3000:3000",
            "nodered": "127.0.0.1:1880:1880",
            "mongodb": "127.0.0.1:27017:27017",
        }
        return {"services": {name: {"ports": [p]} for name, p in ports.items()}}

    def dummy(self) -> dict[str, Any]:
        sims = [d.name for d in self.stand.devices if d.driver == SIM_DRIVER]
        return {"services": {f"device-{n}": self.device(n) for n in sims}}
