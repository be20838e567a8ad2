"""The device service: a device's commands mapped to topics, its status published, every command answered."""
