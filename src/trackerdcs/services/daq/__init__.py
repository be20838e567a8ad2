"""The DAQ service: Ph2_ACF run control over MQTT, and a record of every run."""
