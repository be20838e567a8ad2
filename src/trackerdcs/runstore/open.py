"""Open the run store a ``[daq] store`` URL names: ``mongodb://`` (pymongo), else embedded."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from trackerdcs.runstore.base import RunStore

PASSWORD_ENV = "DCS_RUNSTORE_PASSWORD"


class StoreUrlError(ValueError):
    """A store URL that cannot be used."""


def check_store_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("mongodb", "mongodb+srv"):
        raise StoreUrlError(f"expected mongodb://[user@]host:port/database, got {url!r}")
    if parts.password is not None:
        raise StoreUrlError(f"no password in the URL: use {PASSWORD_ENV} or store_secret_file")


def open_store(url: str | None, data_dir: Path, secret_file: Path | None = None) -> RunStore:
    """``url`` (MongoDB) or the embedded store ``runs.sqlite3`` in ``data_dir``."""
    if url is None:
        from trackerdcs.runstore.embedded import EmbeddedStore

        return EmbeddedStore(data_dir / "runs.sqlite3")
    check_store_url(url)
    password = os.environ.get(PASSWORD_ENV)
    if password is None and secret_file is not None:
        try:
            password = secret_file.read_text().strip()
        except OSError as exc:
            raise StoreUrlError(f"store_secret_file: cannot read {secret_file}: {exc.strerror}") from None
    from trackerdcs.runstore.mongo import MongoStore

    return MongoStore(url, password if urlsplit(url).username else None)
