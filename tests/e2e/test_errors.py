"""An unhandled error: logged with the update's context but not the user's text, the user told
politely, the admins told once per kind per 10 minutes."""

from __future__ import annotations

import logging
import re

import pytest

from bot.emulator import BotApiEmulator
from handlers import errors
from models.db import Database
from tests.conftest import ADMIN_ID
from tests.e2e.chat import plain, press, register, say
from tests.e2e.conftest import RunningBot

SECRET_ANDI = "Rahasia Andi 5521"
SECRET_BUDI = "Rahasia Budi 7730"


def _drop_constraint(url: str) -> None:
    database = Database(url)
    with database.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE answers DROP CONSTRAINT refuse_answers")
    database.dispose()


# On PostgreSQL the constraint error quotes the row ("DETAIL: Failing row contains (…)").
@pytest.mark.parametrize("e2e_database_url", ["sqlite", "postgresql"], indirect=True)
async def test_an_unhandled_error_is_logged_told_and_reported_once(
    bot: RunningBot,
    emulator: BotApiEmulator,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.setattr(errors, "_last_reported", {})
    admin = emulator.user(ADMIN_ID, first_name="Admin")
    await register(admin, name="Admin Klinik", opd="brida")
    users = [emulator.user(1101, first_name="Andi"), emulator.user(1102, first_name="Budi")]
    for user in users:
        await register(user, name=f"Pengguna {user.id}")
        await say(user, "/ide")
        await press(user, "Profil Inovasi Daerah")
    # A fault of our own making, as a broken deploy could leave it: a constraint that refuses
    # every answer (the failing statement carries the user's text as a parameter).
    with bot.database.engine.begin() as connection:
        if bot.database.is_sqlite:
            connection.exec_driver_sql("DROP TABLE answers")
            connection.exec_driver_sql(
                "CREATE TABLE answers (id INTEGER PRIMARY KEY, draft_id INTEGER NOT NULL,"
                " section_key VARCHAR NOT NULL, value TEXT NOT NULL CHECK (value = ''),"
                " updated_at DATETIME NOT NULL)"
            )
        else:  # the server's database is shared by later tests: the constraint is removed after
            connection.exec_driver_sql(
                "ALTER TABLE answers ADD CONSTRAINT refuse_answers CHECK (value = '') NOT VALID"
            )
            request.addfinalizer(lambda: _drop_constraint(bot.settings.database_url))
    caplog.set_level(logging.INFO)  # what production logs (DEBUG is for development)

    for user, secret in zip(users, (SECRET_ANDI, SECRET_BUDI), strict=True):
        replies = await say(user, secret)
        assert "terjadi gangguan" in plain(replies), user.id
        # A bug is not a passing failure: the update is finished, not retried, and the
        # user's next message is answered at once.
        assert "tidak perlu dikirim ulang" not in plain(replies)
        assert "Panduan Klinik Inovasi" in plain(await say(user, "/bantuan"))

    reports = [m for m in admin.messages.values() if "Laporan gangguan" in (m["plain"] or "")]
    assert len(reports) == 1, "the same kind of error is reported once per 10 minutes"
    # The kind names the line of our code that met the error, not generated library code.
    assert re.search(r"IntegrityError@\w+\.py:\d+", reports[0]["plain"])
    logged = [r for r in caplog.records if r.name == "handlers.errors"]
    assert len(logged) == 2 and all(r.levelno == logging.ERROR for r in logged)
    assert "callback_query" not in logged[0].getMessage()
    assert "from user 1101" in logged[0].getMessage()
    # The user's words reach neither the log nor the admins' chat.
    everything_logged = caplog.text + "".join(
        str(r.exc_info[1]) for r in caplog.records if r.exc_info
    )
    for secret in (SECRET_ANDI, SECRET_BUDI):
        assert secret not in everything_logged
        assert secret not in reports[0]["plain"]
