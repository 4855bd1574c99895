"""Settings from the environment or a `.env` file.

Every setting has a clear Indonesian error message because the operator who starts the bot is
often not a Python developer: a bad value must end in one sentence, not a traceback.
"""

from __future__ import annotations

import re
from datetime import time
from functools import cached_property
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TOKEN_PATTERN = re.compile(r"^\d{5,20}:[A-Za-z0-9_-]{30,}$")
DEFAULT_API_URL = "https://api.telegram.org/bot"


class SettingsError(ValueError):
    """A setting is missing or malformed; `str()` is a sentence for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str = ""
    database_url: str = "sqlite:///klinik.db"
    telegram_api_url: str = DEFAULT_API_URL
    timezone: str = "Asia/Makassar"
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(default_factory=frozenset)
    region_name: str = "Kabupaten Sidenreng Rappang"
    # The place printed before the date on a proposal's approval page (the region's capital);
    # empty: the region's name without "Kabupaten"/"Kota"/"Provinsi".
    region_capital: str = ""
    # Seconds within which a further text from the same user is taken as the rest of a long
    # text that the Telegram client split into several messages.
    continuation_window_seconds: float = 5.0
    # Reminders before each competition deadline: days before, at this local time.
    reminder_offsets_days: Annotated[tuple[int, ...], NoDecode] = (14, 7, 3, 1)
    reminder_time: time = time(8, 0)
    # A reminder whose time passed while the bot was down is still sent within this period.
    reminder_grace_hours: float = Field(default=6.0, ge=0)
    # Sending budget, under Telegram's ~30 messages per second (bot/send_limiter.py): replies
    # first, with this share of it reserved for bulk sends (reminders, broadcasts, notices)
    # while both wait. Several processes sharing the token each take 1/BOT_PROCESSES of it.
    messages_per_second: float = Field(default=25.0, gt=0, le=30)
    bulk_reserved_share: float = Field(default=0.2, ge=0.05, le=0.9)
    bot_processes: int = Field(default=1, ge=1, le=64)
    # Telegram's paid broadcasts (opt-in, 0.1 Star per message): bulk sends carry
    # allow_paid_broadcast and go at their own ceiling, up to 1,000 a second.
    allow_paid_broadcast: bool = False
    paid_broadcast_per_second: float = Field(default=100.0, gt=0, le=1000)
    # Webhook mode (`klinik run --webhook`): Telegram POSTs to WEBHOOK_URL, which a reverse
    # proxy forwards to WEBHOOK_LISTEN:WEBHOOK_PORT + WEBHOOK_PATH.
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_path: str = "/telegram"
    webhook_secret: str = ""
    # Sending: seconds to wait for Telegram's answer (an answer later than this is a timeout),
    # and the pauses before each retry of a send that failed for a passing reason (5xx, timeout,
    # dropped connection); a 429 waits as long as Telegram asks instead.
    telegram_read_timeout: float = Field(default=5.0, gt=0, le=120)
    send_retry_delays: Annotated[tuple[float, ...], NoDecode] = (1.0, 3.0, 8.0)
    # An update whose handling failed for a passing reason (the database away) is tried again
    # after these pauses, the last repeated (bot/update_processor.py).
    update_retry_delays: Annotated[tuple[float, ...], NoDecode] = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
    # A process not running the scheduled jobs asks this often whether it should take over
    # (when the one running them died); takeover happens within this many seconds.
    scheduler_claim_seconds: float = Field(default=20.0, ge=1, le=60)
    # Updates of different users handled at once (each user's in order).
    concurrent_updates: int = Field(default=64, ge=1, le=1024)
    # Flood control per user (bot/flood.py): a user may send FLOOD_BURST updates at once, then
    # FLOOD_RATE_PER_SECOND; the excess is not handled and the user is told once.
    # FLOOD_BURST=0 turns it off. The burst lets a long paste split by the client through.
    flood_rate_per_second: float = Field(default=1.0, gt=0, le=100)
    flood_burst: int = Field(default=20, ge=0, le=1000)
    # Consultations: a request no mentor accepted is re-announced (and admins told) after this
    # many hours, this many times; unanswered after the last round it expires.
    consultation_expiry_hours: float = Field(default=24.0, gt=0)
    consultation_reannouncements: int = Field(default=1, ge=0, le=5)
    # Per-account limits: drafts of one's own, consultation requests not yet finished, and
    # earlier texts kept per section (the oldest beyond it are dropped).
    max_drafts_per_user: int = Field(default=20, ge=1, le=1000)
    max_open_consultations: int = Field(default=3, ge=1, le=100)
    max_revisions_per_section: int = Field(default=20, ge=0, le=1000)
    # Reminders before a confirmed consultation session, in hours before it.
    session_reminder_hours: Annotated[tuple[float, ...], NoDecode] = (24.0, 1.0)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.lstrip("-").isdigit() for p in parts):
                raise ValueError("ADMIN_IDS harus berisi angka id Telegram dipisah koma")
            return frozenset(int(p) for p in parts)
        return value

    @field_validator("reminder_offsets_days", mode="before")
    @classmethod
    def _parse_offsets(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not parts or not all(p.isdigit() and 0 < int(p) <= 365 for p in parts):
                raise ValueError(
                    "REMINDER_OFFSETS_DAYS harus berisi angka hari 1–365, mis. 14,7,3,1"
                )
            return tuple(sorted({int(p) for p in parts}, reverse=True))
        return value

    @field_validator("session_reminder_hours", mode="before")
    @classmethod
    def _parse_session_reminders(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                hours = {float(p) for p in value.split(",") if p.strip()}
            except ValueError:
                hours = set()
            if not hours or not all(0 < h <= 24 * 14 for h in hours):
                raise ValueError("SESSION_REMINDER_HOURS harus berisi jam sebelum sesi, mis. 24,1")
            return tuple(sorted(hours, reverse=True))
        return value

    @field_validator("send_retry_delays", "update_retry_delays", mode="before")
    @classmethod
    def _parse_retry_delays(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            try:
                delays = tuple(float(p) for p in value.split(",") if p.strip())
            except ValueError:
                delays = (-1.0,)
            name = (info.field_name or "").upper()
            empty = not delays and name == "UPDATE_RETRY_DELAYS"  # one pause at least
            if empty or len(delays) > 10 or not all(0 <= d <= 300 for d in delays):
                raise ValueError(
                    f"{name} harus berisi jeda detik sebelum tiap pengulangan, mis. 1,3,8"
                )
            return delays
        return value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def api_base_file_url(self) -> str:
        """The file URL PTB needs, derived from the API URL (".../bot" -> ".../file/bot")."""
        base = self.telegram_api_url.rstrip("/")
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file/bot"

    def check(self) -> Settings:
        """Validate what pydantic cannot, raising SettingsError with one clear sentence."""
        if not self.telegram_bot_token:
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN belum diisi: isi dengan token dari @BotFather "
                "di berkas .env atau variabel lingkungan."
            )
        if not TOKEN_PATTERN.match(self.telegram_bot_token):
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN tidak berbentuk token Telegram yang sah "
                "(contoh bentuk: 123456789:AA...); periksa kembali token dari @BotFather."
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(
                f"TIMEZONE '{self.timezone}' tidak dikenal; gunakan misalnya Asia/Makassar."
            ) from exc
        if not self.telegram_api_url.startswith(("http://", "https://")):
            raise SettingsError(
                "TELEGRAM_API_URL harus diawali http:// atau https://, "
                "misalnya https://api.telegram.org/bot."
            )
        return self

    def check_webhook(self) -> Settings:
        if not self.webhook_url.startswith(("https://", "http://")):
            raise SettingsError(
                "WEBHOOK_URL belum diisi: alamat publik https tempat Telegram mengirim pembaruan."
            )
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", self.webhook_secret):
            raise SettingsError(
                "WEBHOOK_SECRET harus 16–256 karakter huruf, angka, _ atau -; "
                "setiap permintaan Telegram wajib membawanya."
            )
        if not self.webhook_path.startswith("/"):
            raise SettingsError("WEBHOOK_PATH harus diawali /, misalnya /telegram.")
        return self

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admin_ids


def load_settings(**overrides: object) -> Settings:
    """Read settings; pydantic's own validation errors become a SettingsError sentence."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]).upper()
        # The value itself is never repeated: it may be a token or a password.
        raise SettingsError(f"Pengaturan {field} tidak sah: {_reason(first)}.") from None


def _reason(error: Any) -> str:
    """Pydantic's reason in Indonesian, for the kinds of mistake an operator makes."""
    limits = error.get("ctx") or {}
    reasons = {
        "int_parsing": "harus berupa bilangan bulat",
        "int_type": "harus berupa bilangan bulat",
        "int_from_float": "harus berupa bilangan bulat",
        "float_parsing": "harus berupa angka (gunakan titik untuk desimal)",
        "float_type": "harus berupa angka",
        "bool_parsing": "harus true atau false",
        "time_parsing": "harus berupa jam, misalnya 08:00",
        "time_type": "harus berupa jam, misalnya 08:00",
        "greater_than": f"harus lebih dari {limits.get('gt')}",
        "greater_than_equal": f"paling kecil {limits.get('ge')}",
        "less_than": f"harus kurang dari {limits.get('lt')}",
        "less_than_equal": f"paling besar {limits.get('le')}",
    }
    if error["type"] == "value_error":  # our own validators: already a sentence
        return str(error["msg"]).removeprefix("Value error, ")
    return reasons.get(error["type"], str(error["msg"]))
