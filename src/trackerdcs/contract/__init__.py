"""The MQTT contract: topic names and payload shapes. Pure: no I/O, no clients.

This package is the only place that knows how topics are spelled; everything else
asks it to build or parse one.
"""
