"""Resident memory of the bot process with 10,000 registered users and 20,000 drafts (each
with nine answers), all following a competition whose reminders are scheduled, after 300 of
them answered a section and listed their drafts. Target: under 150 MB.

    python -m benchmarks.memory [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from benchmarks.common import scratch_database, seed_followers
from benchmarks.throughput import Arrivals, start, stop
from bot.emulator import BotApiEmulator
from models.db import Database
from models.tables import Answer, ConversationState, Draft

USERS = 10_000
DRAFTS_PER_USER = 2
FIRST_USER = 10_000
ACTIVE_USERS = 300
ANSWERS = {
    "nama": "Inovasi {n}",
    "inisiator": "ASN",
    "tahapan": "Penerapan",
    "jenis": "Digital (daring)",
    "bentuk": "Inovasi pelayanan publik",
    "tematik": "Non tematik",
    "urusan": "Kesehatan",
    "waktu_uji_coba": "2025-03",
    "permasalahan": "Angka kematian ibu masih tinggi karena pemeriksaan terlambat. " * 8,
}


def seed(url: str) -> tuple[int, int]:
    database = Database(url)
    seed_followers(
        database, USERS, 1, deadline=datetime.now(UTC) + timedelta(days=30), first_user=FIRST_USER
    )
    now = datetime.now(UTC)
    with database.session() as session:
        for user in range(FIRST_USER, FIRST_USER + USERS, 1000):
            rows = [
                {"owner_id": owner, "format_key": "iid", "resume_section": "waktu_penerapan"}
                | {"created_at": now, "updated_at": now}
                for owner in range(user, user + 1000)
                for _ in range(DRAFTS_PER_USER)
            ]
            session.execute(insert(Draft), rows)
        draft_ids = session.scalars(select(Draft.id)).all()
        for start_at in range(0, len(draft_ids), 2000):
            session.execute(
                insert(Answer),
                [
                    {"draft_id": d, "section_key": k, "value": v.format(n=d), "updated_at": now}
                    for d in draft_ids[start_at : start_at + 2000]
                    for k, v in ANSWERS.items()
                ],
            )
        # Each user is in the middle of their newest draft, at "waktu penerapan".
        newest = session.execute(
            select(Draft.owner_id, func.max(Draft.id)).group_by(Draft.owner_id)
        ).all()
        session.execute(
            insert(ConversationState),
            [
                {
                    "user_id": owner,
                    "flow": "draft",
                    "draft_id": draft_id,
                    "section_key": "waktu_penerapan",
                    "data": {},
                    "updated_at": now,
                }
                for owner, draft_id in newest
            ],
        )
        drafts = session.scalar(select(func.count()).select_from(Draft)) or 0
        answers = session.scalar(select(func.count()).select_from(Answer)) or 0
    database.dispose()
    return drafts, answers


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size in MB, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def measure(kind: str) -> None:
    with tempfile.TemporaryDirectory() as directory, scratch_database(kind, directory) as url:
        seeded = time.perf_counter()
        drafts, answers = seed(url)
        seeded = time.perf_counter() - seeded
        emulator = BotApiEmulator()
        await emulator.start()
        arrivals = Arrivals(emulator)
        bot = await start(
            "benchmarks.bot_process",
            emulator,
            {"DATABASE_URL": url, "ADMIN_IDS": ""},
            [],
            Path(directory) / "bot.log",
        )
        try:
            await asyncio.sleep(2)  # start-up work: schedule rebuilt from the database
            after_start = rss_mb(bot.pid)
            users = [emulator.user(FIRST_USER + n) for n in range(ACTIVE_USERS)]

            async def act(user) -> None:  # type: ignore[no-untyped-def]
                await user.send("Juli 2025")
                cursor = await arrivals.until(user, 0, "Bagian 10 dari 19", timeout=120)
                await user.send("/draf")
                await arrivals.until(user, cursor, "Inovasi", timeout=120)

            await asyncio.gather(*(act(u) for u in users))
            after_traffic = rss_mb(bot.pid)
        finally:
            await stop(bot)
            await emulator.stop()
    print(f"database            : {kind}")
    print(
        f"data                : {USERS:,} registered users, {drafts:,} drafts, {answers:,} "
        f"answers, {USERS:,} followers of a competition (seeded in {seeded:.0f} s)"
    )
    print(f"RSS after start     : {after_start[0]:.0f} MB")
    print(
        f"RSS after traffic   : {after_traffic[0]:.0f} MB (peak {after_traffic[1]:.0f} MB; "
        f"{ACTIVE_USERS} users answered a section and listed their drafts)"
    )
    print("target              : < 150 MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    asyncio.run(measure(args.database))


if __name__ == "__main__":
    main()
