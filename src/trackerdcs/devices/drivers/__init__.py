"""Hardware drivers: each module exposes ``create(config, clock) -> Device``."""
