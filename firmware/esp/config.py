"""Settings of one ESP node (no secrets here: Wi-Fi and MQTT passwords go in secrets.py)."""

NAME = "esp1"  # topic root: /esp1/status, /esp1/cmd/switch/0
BROKER = "192.0.2.10"  # the stand's broker (an example address: set yours)
PORT = 1883
RELAY_PINS = [5]  # GPIO numbers, one per relay channel (D1 on a Wemos D1 mini)
RELAY_ACTIVE_LOW = False  # True for relay boards that switch on a low level
SENSOR_PIN = 4  # GPIO of a DHT22 data line, or None for no sensor
PERIOD = 5.0  # s between status messages; keep it below the MQTT keepalive (30 s)
