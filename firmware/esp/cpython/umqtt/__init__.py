"""CPython stand-in for MicroPython's umqtt package, for testing firmware/esp/main.py."""
