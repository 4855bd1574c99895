"""`klinik run` ends with one clear sentence, not a traceback, when it cannot start."""

from __future__ import annotations

import pytest

from bot.cli import main

GOOD_TOKEN = "123456789:AAEmulatorTokenForKlinikInovasiTests0"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read
    for name in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "TELEGRAM_API_URL", "TIMEZONE", "ADMIN_IDS"):
        monkeypatch.delenv(name, raising=False)


def run_and_read_error(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["run"]) == 2
    error = capsys.readouterr().err.strip()
    assert "Traceback" not in error
    assert len(error.splitlines()) == 1, error
    return error


def test_missing_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert "TELEGRAM_BOT_TOKEN belum diisi" in run_and_read_error(capsys)


def test_malformed_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "not-a-token")
    assert "tidak berbentuk token Telegram" in run_and_read_error(capsys)


def test_bad_timezone(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", GOOD_TOKEN)
    monkeypatch.setenv("TIMEZONE", "Asia/Atlantis")
    assert "TIMEZONE 'Asia/Atlantis' tidak dikenal" in run_and_read_error(capsys)


def test_malformed_admin_ids(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", GOOD_TOKEN)
    monkeypatch.setenv("ADMIN_IDS", "12,abc")
    assert "ADMIN_IDS" in run_and_read_error(capsys)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("foo://nowhere", "tidak didukung"),
        ("::::", "tidak dapat dibaca"),
        ("postgresql://nobody@127.0.0.1:1/none", "tidak dapat dihubungi"),
    ],
)
def test_bad_database_url(
    url: str, expected: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", GOOD_TOKEN)
    monkeypatch.setenv("DATABASE_URL", url)
    assert expected in run_and_read_error(capsys)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://klinik:Rahasia-Sandi-77@db.example:abc/klinik",  # a port that is no number
        "postgresql://klinik:Rahasia-Sandi-77@[::1/klinik",  # an unclosed IPv6 bracket
        "postgresql//klinik:Rahasia-Sandi-77@db.example/klinik",  # "://" mistyped
    ],
)
def test_malformed_database_url_is_one_sentence_without_its_password(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", GOOD_TOKEN)
    monkeypatch.setenv("DATABASE_URL", url)
    error = run_and_read_error(capsys)
    assert "DATABASE_URL" in error
    assert "Rahasia-Sandi-77" not in error
    assert "klinik:***@" in error


def test_export_with_a_malformed_port_names_the_database_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://klinik:Rahasia-Sandi-77@db.example:x/k")
    assert main(["ekspor", "rekap.xlsx"]) == 2
    error = capsys.readouterr().err.strip()
    assert "DATABASE_URL" in error and "TIMEZONE" not in error  # was taken for a bad zone
    assert "Rahasia-Sandi-77" not in error


def test_backup_with_a_malformed_database_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite://u:Rahasia-Sandi-77@host:port/klinik.db")
    assert main(["backup", "copy.db"]) == 2
    error = capsys.readouterr().err.strip()
    assert "Traceback" not in error and "Rahasia-Sandi-77" not in error
    assert "u:***@" in error


def test_non_numeric_port_setting_is_explained_in_indonesian(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", GOOD_TOKEN)
    monkeypatch.setenv("WEBHOOK_PORT", "delapan")
    error = run_and_read_error(capsys)
    assert error == "Gagal memulai: Pengaturan WEBHOOK_PORT tidak sah: harus berupa bilangan bulat."


def test_unreachable_api(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", GOOD_TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:9/bot")
    assert "tidak dapat dihubungi" in run_and_read_error(capsys)


async def test_token_refused_by_the_api(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from bot.emulator import BotApiEmulator

    async with BotApiEmulator() as emulator:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "987654321:AAAnotherTokenThatTheServerDoesNotKnow")
        monkeypatch.setenv("TELEGRAM_API_URL", emulator.base_url)
        # main() runs its own event loop, so it runs in a thread beside the emulator's.
        code = await asyncio.to_thread(main, ["run"])
    assert code == 2
    assert "menolak TELEGRAM_BOT_TOKEN" in capsys.readouterr().err
