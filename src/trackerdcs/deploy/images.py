"""Pinned images and where things live inside the containers."""

from __future__ import annotations

MOSQUITTO = "eclipse-mosquitto:2.0.20"
INFLUXDB = "influxdb:1.8.10"
GRAFANA = "grafana/grafana-oss:10.4.14"
NODERED = "nodered/node-red:4.0.9"
MONGODB = "mongo:7.0.16"
NGINX = "nginx:1.27.3-alpine"
DCS_IMAGE = "trackerdcs:0.1.0"
NODERED_IMAGE = "trackerdcs-nodered:0.1.0"

STAND_IN_CONTAINER = "/etc/trackerdcs/stand.toml"
DATA_IN_CONTAINER = "/var/lib/trackerdcs"
GATEWAY_CERT = "/etc/nginx/tls/gateway.crt"
GATEWAY_KEY = "/run/secrets/gateway_key"
