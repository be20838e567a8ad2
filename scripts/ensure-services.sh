#!/usr/bin/env bash
# Install the real services the test suite talks to (mosquitto, InfluxDB 1.x), when they are missing.
# As root it uses the distribution's packages; otherwise it says what to install.
set -euo pipefail

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v influxd >/dev/null 2>&1 || need+=(influxdb)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "The tests need: ${need[*]}" >&2
  echo "Install them with:  sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need ${need[*]}, and this machine has no apt-get: install them with your package manager." >&2
  exit 1
fi

echo "Installing ${need[*]} from the distribution's packages..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The packages start system-wide servers (ports 1883, 8086); the tests and `dcs up` run their own.
for unit in mosquitto influxdb; do
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$unit" >/dev/null 2>&1 || true; fi
  if command -v service >/dev/null 2>&1; then service "$unit" stop >/dev/null 2>&1 || true; fi
done
echo "Installed ${need[*]}." >&2
