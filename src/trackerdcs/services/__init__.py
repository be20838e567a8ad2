"""The services: one package each, independent of one another (import-linter checks it).

- :mod:`.device`: one device on the bus (``dcs device run NAME``);
- :mod:`.safety`: modules, interlocks, alarms and notifications (``dcs safety run``);
- :mod:`.archiver`: every sample into the archive (``dcs archive run``).
"""
