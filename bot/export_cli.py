"""`klinik ekspor FILE.xlsx`: the coordinator's workbook, written from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.services.context import ServiceContext
from bot.services.exports import build_workbook
from bot.services.formats import FormatRegistry
from bot.settings import SettingsError, load_settings
from models.db import Database, DatabaseError


def run_export(path: str) -> int:
    """Write the workbook to `path`; one Indonesian sentence and exit code 2 on any failure.
    Needs only DATABASE_URL (and TIMEZONE, REGION_NAME), not the bot token."""
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        return _fail("nama berkas harus berakhiran .xlsx, misalnya rekap.xlsx.")
    if not target.parent.is_dir():
        return _fail(f"folder {target.parent} tidak ada; buat dulu foldernya.")
    try:
        settings = load_settings()
        tz = ZoneInfo(settings.timezone)
        database = Database(settings.database_url)
        database.migrate()
    except (SettingsError, DatabaseError) as exc:
        return _fail(str(exc))
    except (ZoneInfoNotFoundError, ValueError):
        zone = settings.timezone
        return _fail(f"TIMEZONE '{zone}' tidak dikenal; gunakan misalnya Asia/Makassar.")
    try:
        ctx = ServiceContext(
            db=database, formats=FormatRegistry.load(), tz=tz, region_name=settings.region_name
        )
        result = build_workbook(ctx, lambda done, total: _progress(done, total))
        target.write_bytes(result.content)
    except OSError as exc:
        return _fail(f"berkas {target} tidak dapat ditulis ({exc.strerror}).")
    finally:
        database.dispose()
    print(f"Ekspor selesai: {result.drafts} usulan dan {result.opds} OPD ditulis ke {target}.")
    return 0


def _progress(done: int, total: int) -> None:
    print(f"  {done} dari {total} usulan…", file=sys.stderr)


def _fail(reason: str) -> int:
    print(f"Gagal mengekspor: {reason}", file=sys.stderr)
    return 2
