"""The run store: one record per DAQ run, in MongoDB or an embedded SQLite file; no MQTT.

Both implement :class:`~trackerdcs.runstore.base.RunStore`; :mod:`.outbox` keeps on disk what a
store could not take and retries it in order, so no run record is ever lost.
"""
