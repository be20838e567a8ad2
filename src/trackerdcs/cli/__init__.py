"""The ``dcs`` command line: the only place that configures logging and prints."""
