"""Services: the device service, the broker and the stack runner. They speak MQTT."""
