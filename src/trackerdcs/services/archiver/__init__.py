"""The archiver: every message spooled to disk first, then stored in the archive backend."""
