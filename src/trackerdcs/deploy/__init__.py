"""Deployment: configuration generated from the stand file."""
