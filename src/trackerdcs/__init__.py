"""Tracker DCS: slow control for silicon-tracker test stands."""

__version__ = "0.1.0"
