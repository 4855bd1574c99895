"""`klinik backup FILE` copies a SQLite database consistently, even while it is written."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from bot.backup import BackupError, backup_sqlite
from bot.cli import main


def test_backup_while_writing_gives_a_valid_copy(tmp_path: Path) -> None:
    source = tmp_path / "klinik.db"
    connection = sqlite3.connect(source, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE answers (id INTEGER PRIMARY KEY, text TEXT)")
    connection.commit()
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            connection.execute("INSERT INTO answers (text) VALUES (?)", ("jawaban " * 50,))
            connection.commit()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        size = backup_sqlite(f"sqlite:///{source}", tmp_path / "copy.db")
    finally:
        stop.set()
        writer.join()
    assert size > 0
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert copy.execute("SELECT count(*) FROM answers").fetchone()[0] >= 0
    assert not (tmp_path / "copy.db.partial").exists()


def test_backup_refuses_postgresql_and_existing_targets(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="pg_dump"):
        backup_sqlite("postgresql://x@127.0.0.1/db", tmp_path / "a.db")
    (tmp_path / "exists.db").write_bytes(b"")
    (tmp_path / "klinik.db").write_bytes(b"")
    with pytest.raises(BackupError, match="sudah ada"):
        backup_sqlite(f"sqlite:///{tmp_path / 'klinik.db'}", tmp_path / "exists.db")


def test_backup_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "klinik.db"
    sqlite3.connect(source).execute("CREATE TABLE t (x)").connection.commit()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{source}")
    assert main(["backup", str(tmp_path / "salinan.db")]) == 0
    assert "tersimpan" in capsys.readouterr().out
    assert main(["backup", str(tmp_path / "salinan.db")]) == 2
    assert "sudah ada" in capsys.readouterr().err
