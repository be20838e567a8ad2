"""The archive: every sample stored, in InfluxDB or SQLite, through an on-disk spool.

Nothing here speaks MQTT; :mod:`trackerdcs.services.archiver` feeds it.
"""
