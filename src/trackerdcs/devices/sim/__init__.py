"""Simulated instruments that behave like the hardware, with steerable parameters."""
