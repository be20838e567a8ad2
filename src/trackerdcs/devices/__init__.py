"""Device models, simulators and (later) hardware drivers. No MQTT, no database."""
