"""Copy to secrets.py on the board (never commit the real one)."""

WIFI_SSID = "stand-wifi"
WIFI_PASSWORD = "change-me"
MQTT_USER = "esp1"
MQTT_PASSWORD = "change-me"
