"""Safety logic: modules and their power sequencing, interlock rules, alarms.

Pure logic, no I/O: the services layer feeds it samples and carries out what it
decides, and `dcs rules test` replays recorded samples through the same code.
"""
