"""Competitions, deadlines and reminders in the domain, with a clock moved by hand."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.services.context import ServiceContext
from bot.services.deadlines import parse_deadline
from bot.services.dialog import Dialog
from bot.services.reminders import DueReminder, ReminderService
from bot.services.replies import Reply
from models.competitions import (
    Competition,
    DraftLink,
    Follow,
    ReminderDelivery,
    ReminderMute,
    Stage,
)
from models.tables import User
from scheduler.reminders import ReminderSource
from tests.conftest import ADMIN_ID, WITA
from tests.helpers import buttons, new_draft, register, templates

ANDI, BUDI, CITRA = 601, 602, 603


class RecordingSender:
    """The domain's port for sending, recording instead of calling Telegram."""

    def __init__(self, status: str = "delivered") -> None:
        self.sent: list[tuple[int, Reply]] = []
        self.status = status

    async def __call__(self, chat_id: int, reply: Reply) -> str:
        self.sent.append((chat_id, reply))
        return self.status


def add_competition(ctx: ServiceContext, deadline: datetime, name: str = "IGA 2026") -> Stage:
    with ctx.db.session() as session:
        competition = Competition(name=name, organiser="Kemendagri", level="Nasional", year=2026)
        session.add(competition)
        session.flush()
        stage = Stage(
            competition_id=competition.id, name="Batas input profil", deadline_at=deadline
        )
        session.add(stage)
        session.flush()
        return stage


def follow(ctx: ServiceContext, user_id: int, competition_id: int) -> None:
    with ctx.db.session() as session:
        session.add(Follow(user_id=user_id, competition_id=competition_id))


def run(source: ReminderSource, now: datetime, sender: RecordingSender) -> None:
    asyncio.run(source.run_due(now, sender))


def deliveries(ctx: ServiceContext) -> list[tuple[int, int, str]]:
    with ctx.db.session() as session:
        rows = session.exec(select(ReminderDelivery).order_by(ReminderDelivery.user_id)).all()
        return [(r.user_id, r.offset_days, r.status) for r in rows]


@pytest.mark.parametrize(
    ("zone", "expected_utc_hour"),
    [("Asia/Jakarta", 1), ("Asia/Makassar", 0), ("Asia/Jayapura", 23)],
)
def test_reminders_fall_at_8_local_time_in_every_indonesian_zone(
    ctx: ServiceContext, zone: str, expected_utc_hour: int
) -> None:
    ctx.tz = ZoneInfo(zone)
    deadline = parse_deadline("23 Agustus 2026 23.59", ctx.tz)
    times = ReminderService(ctx).fire_times(Stage(competition_id=1, name="x", deadline_at=deadline))
    assert [offset for offset, _ in times] == [14, 7, 3, 1]
    for offset, fire_at in times:
        local = fire_at.astimezone(ctx.tz)
        assert (local.hour, local.minute) == (8, 0)
        assert local.date() == deadline.astimezone(ctx.tz).date() - timedelta(days=offset)
        assert fire_at.hour == expected_utc_hour


def test_followers_and_linked_drafts_get_one_reminder_each(
    ctx: ServiceContext, dialog: Dialog, clock
) -> None:
    for user_id, name in ((ANDI, "Andi Pratiwi"), (BUDI, "Budi Santoso"), (CITRA, "Citra Dewi")):
        register(dialog, user_id, name=name)
    draft_id = new_draft(dialog, ANDI)
    dialog.text(ANDI, "SIPANDU BUMIL")
    stage = add_competition(ctx, parse_deadline("30 November 2026 23.59", WITA))
    with ctx.db.session() as session:
        session.add(DraftLink(draft_id=draft_id, competition_id=stage.competition_id))
    follow(ctx, BUDI, stage.competition_id)
    follow(ctx, ANDI, stage.competition_id)  # both follows and has a draft: still one message
    source, sender = ReminderSource(ReminderService(ctx)), RecordingSender()
    clock.current = parse_deadline("23 November 2026 08.00", WITA)  # the 7-day reminder
    run(source, clock(), sender)
    assert sorted(chat for chat, _ in sender.sent) == [ANDI, BUDI]
    andi_reply = next(reply for chat, reply in sender.sent if chat == ANDI)
    assert andi_reply.context["days"] == 7
    missing = [s.key for s in andi_reply.context["drafts"][0]["completeness"].missing_required]
    assert "inisiator" in missing and "nama" not in missing
    assert andi_reply.context["drafts"][0]["readiness"].next_steps  # the readiness check
    assert f"d:c:{draft_id}" in [b.data for row in andi_reply.buttons for b in row]
    # Run again (duplicate wake-up, restart): nothing more is sent.
    run(source, clock(), sender)
    assert len(sender.sent) == 2
    # The 14-day reminder's time had passed long before: recorded as skipped, not sent.
    assert sorted(deliveries(ctx)) == [
        (ANDI, 7, "sent"),
        (ANDI, 14, "skipped"),
        (BUDI, 7, "sent"),
        (BUDI, 14, "skipped"),
    ]


def test_muted_submitted_and_blocked_users_are_not_reminded(
    ctx: ServiceContext, dialog: Dialog, clock
) -> None:
    for user_id, name in ((ANDI, "Andi Pratiwi"), (BUDI, "Budi Santoso"), (CITRA, "Citra Dewi")):
        register(dialog, user_id, name=name)
    draft_id = new_draft(dialog, ANDI)
    stage = add_competition(ctx, parse_deadline("30 November 2026 23.59", WITA))
    with ctx.db.session() as session:
        session.add(
            DraftLink(draft_id=draft_id, competition_id=stage.competition_id, submitted_at=clock())
        )
        session.add(Follow(user_id=BUDI, competition_id=stage.competition_id))
        session.add(Follow(user_id=CITRA, competition_id=stage.competition_id))
        session.add(ReminderMute(user_id=BUDI, competition_id=0))
        session.get(User, CITRA).reachable = False
    clock.current = parse_deadline("23 November 2026 08.00", WITA)
    sender = RecordingSender()
    run(ReminderSource(ReminderService(ctx)), clock(), sender)
    assert sender.sent == []


def test_late_within_grace_is_sent_and_after_grace_skipped(
    ctx: ServiceContext, dialog: Dialog, clock
) -> None:
    register(dialog, ANDI)
    stage = add_competition(ctx, parse_deadline("30 November 2026 23.59", WITA))
    follow(ctx, ANDI, stage.competition_id)
    source, sender = ReminderSource(ReminderService(ctx)), RecordingSender()
    # Down from before the 14-day reminder until 5 h after the 7-day one.
    clock.current = parse_deadline("23 November 2026 13.00", WITA)
    run(source, clock(), sender)
    assert [reply.context["days"] for _, reply in sender.sent] == [7]
    with ctx.db.session() as session:
        statuses = {r.offset_days: r.status for r in session.exec(select(ReminderDelivery))}
    assert statuses == {14: "skipped", 7: "sent"}
    # 7 hours late: past the 6-hour grace.
    clock.current = parse_deadline("27 November 2026 15.00", WITA)
    run(source, clock(), sender)
    assert len(sender.sent) == 1
    with ctx.db.session() as session:
        statuses = {r.offset_days: r.status for r in session.exec(select(ReminderDelivery))}
    assert statuses[3] == "skipped"


def test_a_clock_going_back_does_not_resend(ctx: ServiceContext, dialog: Dialog, clock) -> None:
    register(dialog, ANDI)
    stage = add_competition(ctx, parse_deadline("30 November 2026 23.59", WITA))
    follow(ctx, ANDI, stage.competition_id)
    source, sender = ReminderSource(ReminderService(ctx)), RecordingSender()
    clock.current = parse_deadline("23 November 2026 08.00", WITA)
    run(source, clock(), sender)
    clock.advance(hours=-1)
    run(source, clock(), sender)
    clock.advance(hours=2)
    run(source, clock(), sender)
    assert len(sender.sent) == 1


def test_failed_sends_are_retried_blocked_ones_are_not(
    ctx: ServiceContext, dialog: Dialog, clock
) -> None:
    register(dialog, ANDI)
    register(dialog, BUDI, name="Budi Santoso")
    stage = add_competition(ctx, parse_deadline("30 November 2026 23.59", WITA))
    follow(ctx, ANDI, stage.competition_id)
    follow(ctx, BUDI, stage.competition_id)
    source = ReminderSource(ReminderService(ctx))
    clock.current = parse_deadline("23 November 2026 08.00", WITA)
    run(source, clock(), RecordingSender(status="failed"))
    retry = RecordingSender()
    clock.advance(minutes=5)
    run(source, clock(), retry)
    assert sorted(chat for chat, _ in retry.sent) == [ANDI, BUDI]
    # A blocked user is marked unreachable and never reminded again.
    stage2 = add_competition(ctx, parse_deadline("1 Desember 2026 23.59", WITA), "Lomba Daerah")
    follow(ctx, ANDI, stage2.competition_id)
    clock.current = parse_deadline("24 November 2026 08.00", WITA)
    run(source, clock(), RecordingSender(status="blocked"))
    with ctx.db.session() as session:
        assert session.get(User, ANDI).reachable is False
    later = RecordingSender()
    clock.current = parse_deadline("28 November 2026 08.00", WITA)
    run(source, clock(), later)
    assert ANDI not in [chat for chat, _ in later.sent]


def test_moving_a_deadline_reschedules_unsent_reminders(
    ctx: ServiceContext, dialog: Dialog, clock
) -> None:
    from bot.services.competitions import move_deadline

    register(dialog, ANDI)
    stage = add_competition(ctx, parse_deadline("30 November 2026 23.59", WITA))
    follow(ctx, ANDI, stage.competition_id)
    service = ReminderService(ctx)
    source, sender = ReminderSource(service), RecordingSender()
    clock.current = parse_deadline("23 November 2026 09.00", WITA)
    run(source, clock(), sender)  # the 7-day reminder
    with ctx.db.session() as session:
        move_deadline(
            session,
            session.get(Stage, stage.id),
            parse_deadline("10 Desember 2026 23.59", WITA),
            clock(),
        )
    wakes = [t.astimezone(WITA).strftime("%d %H:%M") for t in service.wake_times(clock())]
    assert wakes == ["26 08:00", "03 08:00", "07 08:00", "09 08:00"]
    clock.current = parse_deadline("26 November 2026 08.00", WITA)  # new 14-day reminder
    run(source, clock(), sender)
    clock.current = parse_deadline("3 Desember 2026 08.00", WITA)  # 7 days: already sent once
    run(source, clock(), sender)
    assert [reply.context["days"] for _, reply in sender.sent] == [7, 14]


def test_two_runs_racing_claim_each_reminder_once(
    ctx: ServiceContext, dialog: Dialog, clock
) -> None:
    register(dialog, ANDI)
    stage = add_competition(ctx, parse_deadline("30 November 2026 23.59", WITA))
    service = ReminderService(ctx)
    clock.current = parse_deadline("23 November 2026 08.00", WITA)
    item = DueReminder(ANDI, stage.id, 7, clock())
    barrier, results = threading.Barrier(4), []

    def claim() -> None:
        barrier.wait()
        results.append(service.claim(item, clock()))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result is not None for result in results) == 1


def test_admin_defines_a_competition_by_conversation(
    ctx: ServiceContext, dialog: Dialog, clock
) -> None:
    register(dialog, ADMIN_ID, name="Admin Klinik")
    register(dialog, ANDI)
    assert templates(dialog.command(ANDI, "lomba")) == ["common/forbidden"]
    assert dialog.callback(ANDI, "l:n").notice == "forbidden"
    dialog.command(ADMIN_ID, "lomba")
    dialog.callback(ADMIN_ID, "l:n")
    dialog.text(ADMIN_ID, "Lomba Inovasi Daerah 2026")
    levels = dialog.text(ADMIN_ID, "Bappeda Kabupaten")
    dialog.callback(ADMIN_ID, buttons(levels)[0].data)
    assert templates(dialog.text(ADMIN_ID, "1990")) == ["lomba/invalid_year"]
    dialog.text(ADMIN_ID, "2026")
    dialog.text(ADMIN_ID, "Pengumpulan proposal")
    assert templates(dialog.text(ADMIN_ID, "kapan-kapan")) == ["lomba/invalid_deadline"]
    dialog.text(ADMIN_ID, "15 Desember 2026 16.00")
    dialog.callback(ADMIN_ID, "l:more")
    dialog.text(ADMIN_ID, "Presentasi")
    dialog.text(ADMIN_ID, "20/12/2026")
    saved = dialog.callback(ADMIN_ID, "l:done")
    assert saved.rebuild == ("reminders",)
    with ctx.db.session() as session:
        competition = session.exec(select(Competition)).one()
        stages = session.exec(select(Stage).order_by(Stage.deadline_at)).all()
    assert (competition.name, competition.level, competition.year) == (
        "Lomba Inovasi Daerah 2026",
        "Kabupaten/Kota",
        2026,
    )
    assert [(s.name, s.deadline_at) for s in stages] == [
        ("Pengumpulan proposal", datetime(2026, 12, 15, 8, 0, tzinfo=UTC)),
        ("Presentasi", datetime(2026, 12, 20, 15, 59, tzinfo=UTC)),
    ]
    # The ASN follows it, links a draft, sees the deadline, mutes it; forged ids reveal nothing.
    upcoming = dialog.command(ANDI, "tenggat")
    assert upcoming.replies[0].context["rows"] == []
    dialog.callback(ANDI, f"t:f:{competition.id}")
    rows = dialog.command(ANDI, "tenggat").replies[0].context["rows"]
    assert [(r["stage"].name, r["days"]) for r in rows] == [
        ("Pengumpulan proposal", 22),
        ("Presentasi", 27),
    ]
    draft_id = new_draft(dialog, ANDI)
    dialog.callback(ANDI, f"t:dl:{draft_id}:{competition.id}")
    dialog.callback(ANDI, f"t:ds:{draft_id}:{competition.id}")
    with ctx.db.session() as session:
        assert session.exec(select(DraftLink)).one().submitted_at is not None
    register(dialog, BUDI, name="Budi Santoso")
    assert dialog.callback(BUDI, f"t:dl:{draft_id}:{competition.id}").notice == "draft_not_found"
    assert dialog.callback(BUDI, "t:f:999").notice == "not_found"
    dialog.callback(ANDI, f"t:m:{competition.id}")
    assert dialog.command(ANDI, "tenggat").replies[0].context["rows"][0]["muted"]
