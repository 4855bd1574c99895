"""`klinik backup FILE`: a consistent copy of a SQLite database while the bot runs.

SQLite's online backup API copies page by page under the database's own locking, so the copy
is a valid database even while the bot writes. PostgreSQL is backed up with pg_dump (README).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from models.db import parse_database_url


class BackupError(RuntimeError):
    """The backup cannot be made; `str()` is one sentence for the operator."""


def backup_sqlite(database_url: str, target: Path) -> int:
    """Copy the database to `target`; returns the number of bytes written."""
    url = parse_database_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise BackupError(
            "klinik backup hanya untuk SQLite; untuk PostgreSQL gunakan pg_dump (lihat README)."
        )
    source_path = Path(url.database)
    if not source_path.exists():
        raise BackupError(f"Berkas basis data {source_path} tidak ditemukan.")
    if target.exists():
        raise BackupError(f"Berkas tujuan {target} sudah ada; pilih nama lain.")
    partial = target.with_name(target.name + ".partial")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    destination = sqlite3.connect(partial)
    try:
        with destination:
            source.backup(destination, pages=1024)
    finally:
        destination.close()
        source.close()
    partial.rename(target)  # a half-written copy never carries the final name
    return target.stat().st_size
