"""pyvisa-sim definitions of the VISA instruments (``options = { backend = "@sim" }``)."""
