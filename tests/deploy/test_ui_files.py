"""The generated Node-RED settings and flows, and the nginx gateway configuration."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.ui import ROOT, find_nginx, rewrite_nginx, self_signed
from trackerdcs.deploy.gateway import write_gateway
from trackerdcs.deploy.nodered import DASHBOARD_VERSION, NODE_RED_VERSION, write_nodered
from trackerdcs.stand import Stand, load_stand, parse_stand

SECRETS = {
    "admin_password": "admin-Secret-1",
    "credential_secret": "cred-Secret-2",
    "dashboard_password": "dash-Secret-3",
    "mqtt_password": "mqtt-Secret-4",
}

STANDS = sorted((ROOT / "src" / "trackerdcs" / "stands").glob("*.toml"))


def generate(stand: Stand, out: Path) -> Path:
    write_nodered(stand, out, mqtt_url="mqtt://mosquitto:1883", mqtt_username="nodered", **SECRETS)
    return out / "nodered"


def flows(folder: Path) -> list[dict[str, Any]]:
    data = json.loads((folder / "flows.json").read_text())
    assert isinstance(data, list)
    return data


def decrypt(blob: str, secret: str) -> Any:
    """Node-RED's decryption of flows_cred.json, as an independent check of ours."""
    key = hashlib.sha256(secret.encode()).digest()
    iv, data = bytes.fromhex(blob[:32]), base64.b64decode(blob[32:])
    decryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()
    return json.loads(decryptor.update(data) + decryptor.finalize())


def test_settings_hash_the_passwords_and_print_no_secret_but_the_credential_secret(tmp_path: Path) -> None:
    folder = generate(load_stand(), tmp_path)
    settings = (folder / "settings.js").read_text()
    for name in ("admin_password", "dashboard_password", "mqtt_password"):
        assert SECRETS[name] not in settings, name
    hashes = [h.encode() for h in __import__("re").findall(r'"(\$2a\$10\$[./A-Za-z0-9]{53})"', settings)]
    assert len(hashes) == 2
    assert bcrypt.checkpw(SECRETS["admin_password"].encode(), hashes[0])
    assert bcrypt.checkpw(SECRETS["dashboard_password"].encode(), hashes[1])
    assert f'credentialSecret: "{SECRETS["credential_secret"]}"' in settings
    for setting in ("adminAuth", "httpNodeAuth", "ioMiddleware", "diagnostics: { enabled: false"):
        assert setting in settings
    assert "projects: { enabled: false }" in settings
    assert (folder / "settings.js").stat().st_mode & 0o077 == 0


def test_the_mqtt_credentials_are_only_in_the_encrypted_credentials_file(tmp_path: Path) -> None:
    folder = generate(load_stand(), tmp_path)
    for name in ("flows.json", "settings.js", "package.json"):
        assert SECRETS["mqtt_password"] not in (folder / name).read_text(), name
    blob = json.loads((folder / "flows_cred.json").read_text())["$"]
    assert SECRETS["mqtt_password"] not in blob
    assert decrypt(blob, SECRETS["credential_secret"]) == {
        "dcs-broker": {"user": "nodered", "password": SECRETS["mqtt_password"]}
    }


def test_settings_js_is_valid_javascript(tmp_path: Path) -> None:
    folder = generate(load_stand(), tmp_path)
    subprocess.run(["node", "--check", str(folder / "settings.js")], check=True)


@pytest.mark.parametrize("path", STANDS, ids=lambda p: p.stem)
def test_flows_are_wired_to_existing_nodes_with_one_widget_set_per_channel(
    tmp_path: Path, path: Path
) -> None:
    stand = load_stand(path)
    nodes = flows(generate(stand, tmp_path))
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids)), "duplicate node ids"
    for node in nodes:
        for output in node.get("wires", []):
            assert set(output) <= set(ids), f"{node['id']} ({node['type']}) wires to a missing node"
        for ref in ("group", "page", "ui", "theme", "broker", "tls", "z"):
            if node.get(ref) and node["type"] != "mqtt-broker":
                assert node[ref] in ids, f"{node['id']}.{ref} -> {node[ref]} missing"
    css = [n.get("className", "") for n in nodes]
    for device in stand.devices:
        if device.kind not in ("hv", "lv"):
            assert not [c for c in css if c.startswith(f"dcs-{device.name}-")]
            continue
        for ch in range(device.channels):
            for part in ("switch", "setv", "vreq", "vmon", "imon", "state"):
                assert css.count(f"dcs-{device.name}-{ch}-{part}") == 1, (device.name, ch, part)
        assert css.count(f"dcs-{device.name}-reply") == 1
    for module in stand.modules:
        for part in ("on", "off", "state", "reply"):
            assert css.count(f"dcs-{module.name}-{part}") == 1
    assert css.count("dcs-alarms") == (1 if stand.has_safety else 0)


def test_commands_follow_the_contract(tmp_path: Path) -> None:
    nodes = flows(generate(load_stand(), tmp_path))
    topics = {n["topic"] for n in nodes if n.get("topicType") == "str"}
    assert {"/hv/cmd/switch/0", "/hv/cmd/setv/0", "/lv/cmd/switch/0", "/M1/cmd/on", "/M1/cmd/off"} <= topics
    subscribed = {n["topic"] for n in nodes if n["type"] == "mqtt in"}
    assert {"/hv/status", "/hv/reply", "/lv/reply", "/M1/status", "/interlock/alarms"} <= subscribed
    assert all(n["broker"] == "dcs-broker" for n in nodes if n["type"].startswith("mqtt "))
    broker = next(n for n in nodes if n["type"] == "mqtt-broker")
    assert (broker["broker"], broker["port"], broker["usetls"]) == ("mosquitto", "1883", False)
    assert "credentials" not in broker


def test_a_stand_without_safety_has_no_modules_or_alarms(tmp_path: Path) -> None:
    stand = parse_stand('[[devices]]\nname = "psu"\nkind = "lv"\nchannels = 2\n', "test")
    nodes = flows(generate(stand, tmp_path))
    assert not [n for n in nodes if n["type"] in ("ui-table", "ui-button")]
    assert len([n for n in nodes if n["type"] == "ui-switch"]) == 2


def test_package_json_pins_node_red_4_and_the_test_install_matches(tmp_path: Path) -> None:
    package = json.loads((generate(load_stand(), tmp_path) / "package.json").read_text())
    assert package["dependencies"] == {
        "node-red": NODE_RED_VERSION,
        "@flowfuse/node-red-dashboard": DASHBOARD_VERSION,
    }
    assert NODE_RED_VERSION.startswith("4.")
    tested = json.loads((ROOT / "tests" / "nodered" / "package.json").read_text())
    assert tested["dependencies"] == package["dependencies"]


def test_gateway_is_tls_12_plus_with_hsts_and_a_redirect(tmp_path: Path) -> None:
    write_gateway(
        load_stand(),
        tmp_path,
        server_name="dcs.example.org",
        cert_file="/certs/a.crt",
        key_file="/certs/a.key",
    )
    conf = (tmp_path / "gateway" / "nginx.conf").read_text()
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf
    assert "TLSv1.1" not in conf.replace("TLSv1.2", "") and "SSLv3" not in conf
    assert 'Strict-Transport-Security "max-age=31536000; includeSubDomains" always' in conf
    assert "return 301 https://$host$request_uri;" in conf
    for route in ("/console/", "/grafana/", "/nodered/", "/dashboard/"):
        assert f"location {route} {{" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "ssl_certificate     /certs/a.crt;" in conf and "ssl_certificate_key /certs/a.key;" in conf


def test_gateway_refuses_names_that_would_break_the_configuration(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="server"):
        write_gateway(load_stand(), tmp_path, server_name="a; b", cert_file="/c", key_file="/k")


def test_nginx_accepts_the_generated_configuration(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path / "certs")
    write_gateway(load_stand(), tmp_path, server_name="localhost", cert_file=str(cert), key_file=str(key))
    conf = tmp_path / "gateway" / "nginx.conf"
    conf.write_text(rewrite_nginx(conf.read_text(), tmp_path, 8080, 8443, 1880, 3000))
    result = subprocess.run(
        [find_nginx(), "-t", "-p", str(tmp_path), "-c", str(conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_an_mqtts_url_verifies_the_broker_with_the_given_ca(tmp_path: Path) -> None:
    write_nodered(
        load_stand(),
        tmp_path,
        mqtt_url="mqtts://mosquitto:8883?ca=/run/secrets/ca.crt",
        mqtt_username="n",
        **SECRETS,
    )
    nodes = {n["id"]: n for n in flows(tmp_path / "nodered")}
    broker = nodes["dcs-broker"]
    assert (broker["port"], broker["usetls"]) == ("8883", True)
    tls = nodes[broker["tls"]]
    assert (tls["type"], tls["ca"], tls["verifyservercert"]) == ("tls-config", "/run/secrets/ca.crt", True)


def test_an_unknown_mqtt_scheme_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scheme"):
        write_nodered(load_stand(), tmp_path, mqtt_url="http://mosquitto", mqtt_username="n", **SECRETS)
