"""``dcs deploy``: a production stack generated from the stand file.

Each module writes one part of the deployment directory (secrets, TLS, the broker's
configuration, Grafana's provisioning, the compose files); :mod:`.writer` runs them in
order. Nothing here starts a process or opens a connection.
"""
