"""The coordinator's view: statistics, the XLSX export, broadcasts; admin-only on every call."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.cli import main as cli_main
from bot.services import statistics
from bot.services.broadcast import BroadcastService
from bot.services.context import ServiceContext
from bot.services.dialog import Dialog
from bot.services.exports import STALE_AFTER, ExportService, build_workbook
from bot.services.replies import AnyReply, LongReply, Reply
from bot.services.statistics import collect_overview, consultation_stats, format_duration
from models.competitions import DraftLink, Follow
from models.consultations import Consultation, ConsultationOffer, RelayedMessage
from models.readiness import Broadcast, BroadcastDelivery, ExportRequest
from models.tables import Draft
from scheduler.broadcasts import BroadcastSource
from scheduler.exports import ExportSource
from tests.conftest import ADMIN_ID
from tests.helpers import add_competition, button_data, buttons, register
from tests.proposal_samples import MANDATORY, add_draft, add_user, strong_iid_answers

ANDI, BUDI, CITRA, DEDI = 1001, 1002, 1003, 1004
KESEHATAN, DUKCAPIL = "Dinas Kesehatan", "Dinas Kependudukan dan Pencatatan Sipil"


def populate(ctx: ServiceContext) -> dict[str, int]:
    """Three ASN in two OPDs, one ready draft, a competition with a deadline and a link."""
    db, iid = ctx.db, ctx.formats["iid"]
    add_user(db, ADMIN_ID, "Admin Klinik", "Badan Riset dan Inovasi Daerah (BRIDA)")
    add_user(db, ANDI, "Andi Pratiwi", KESEHATAN)
    add_user(db, BUDI, "Budi O'Brien", KESEHATAN)
    add_user(db, CITRA, "Citra Lestari", DUKCAPIL, reachable=False)
    ready = add_draft(db, ANDI, iid, strong_iid_answers(), MANDATORY)
    weak = add_draft(db, BUDI, iid, {"nama": "SI-CEPAT", "tahapan": "Uji coba"})
    formula = add_draft(db, CITRA, iid, {"nama": '=HYPERLINK("http://x")', "tujuan": "a\x07b"})
    with db.session() as session:
        stages = {
            "Input profil inovasi": ctx.now() + timedelta(days=12),
            "Sudah lewat": ctx.now() - timedelta(days=1),
        }
        competition = add_competition(session, "IGA", stages, "Kemendagri", "Nasional")
        session.add(DraftLink(draft_id=ready, competition_id=competition.id))
        session.add(DraftLink(draft_id=weak, competition_id=competition.id))
        session.add(Follow(user_id=BUDI, competition_id=competition.id))
        session.add(Follow(user_id=CITRA, competition_id=competition.id))
        competition_id = competition.id
    return {"ready": ready, "weak": weak, "formula": formula, "competition": competition_id}


# ---- /statistik ----------------------------------------------------------------------------------


def test_overview_counts_drafts_per_opd_stage_readiness_and_deadlines(
    ctx: ServiceContext,
) -> None:
    populate(ctx)
    with ctx.db.session() as session:
        overview = collect_overview(session, ctx)
    assert (overview.users, overview.drafts, overview.ready) == (4, 3, 1)
    assert overview.stage_totals == {"Penerapan": 1, "Uji coba": 1, "Belum diisi": 1}
    rows = {r.name: r for r in overview.opd_rows}
    assert rows[KESEHATAN].drafts == 2 and rows[KESEHATAN].ready == 1
    assert rows[KESEHATAN].by_stage == {"Penerapan": 1, "Uji coba": 1}
    assert [(d.stage, d.days, d.linked, d.not_ready) for d in overview.deadlines] == [
        ("Input profil inovasi", 12, 2, 1)
    ]
    assert KESEHATAN not in overview.opds_without_innovation
    assert DUKCAPIL not in overview.opds_without_innovation
    assert "Dinas Sosial" in overview.opds_without_innovation
    assert len(overview.opds_without_innovation) == overview.active_opds - 2


def test_last_years_drafts_do_not_count_for_this_year(ctx: ServiceContext) -> None:
    populate(ctx)
    with ctx.db.session() as session:
        for draft in session.exec(select(Draft)):
            draft.created_at = datetime(2025, 12, 31, 15, 0, tzinfo=ctx.tz)  # still 2025 in WITA
            session.add(draft)
    with ctx.db.session() as session:
        overview = collect_overview(session, ctx)
    assert KESEHATAN in overview.opds_without_innovation
    assert len(overview.opds_without_innovation) == overview.active_opds


def test_consultation_medians(ctx: ServiceContext) -> None:
    populate(ctx)
    t0 = ctx.now() - timedelta(days=3)
    with ctx.db.session() as session:
        for number, (accept_h, answer_h, status) in enumerate(
            [(1, 2, "closed"), (3, 10, "assigned"), (None, None, "open")]
        ):
            consultation = Consultation(
                asn_id=ANDI,
                mentor_id=BUDI if accept_h else None,
                question="Bagaimana menulis tujuan?",
                status=status,
                created_at=t0,
            )
            session.add(consultation)
            session.flush()
            if accept_h:
                session.add(
                    ConsultationOffer(
                        consultation_id=consultation.id,
                        mentor_id=BUDI,
                        status="accepted",
                        answered_at=t0 + timedelta(hours=accept_h),
                    )
                )
                for hours, sender in ((answer_h + 5, BUDI), (answer_h, BUDI), (0.5, ANDI)):
                    session.add(
                        RelayedMessage(
                            consultation_id=consultation.id,
                            from_chat_id=sender,
                            from_message_id=number,
                            to_chat_id=ANDI,
                            status="sent",
                            created_at=t0 + timedelta(hours=hours),
                        )
                    )
    found = consultation_stats(ctx.db)
    assert found is not None
    assert (found.total, found.open, found.closed, found.answered) == (3, 2, 1, 2)
    assert found.median_to_accept == timedelta(hours=2)
    assert found.median_to_first_answer == timedelta(hours=6)
    assert format_duration(found.median_to_first_answer) == "6 jam"
    assert format_duration(timedelta(days=2, hours=3, minutes=4)) == "2 hari 3 jam"
    assert format_duration(timedelta(minutes=12)) == "12 menit"


def test_statistics_without_the_consultation_feature(dialog: Dialog, monkeypatch) -> None:
    populate(dialog.ctx)
    monkeypatch.setattr(statistics, "_consultation_models", lambda: None)
    assert consultation_stats(dialog.ctx.db) is None
    outcome = dialog.command(ADMIN_ID, "statistik")
    reply = outcome.replies[0]
    assert isinstance(reply, LongReply)
    assert reply.chunks[2].head_context["o"].consultations is None


def test_statistik_reply_lists_opds_and_deadlines(dialog: Dialog) -> None:
    populate(dialog.ctx)
    outcome = dialog.command(ADMIN_ID, "statistik")
    reply = outcome.replies[0]
    assert isinstance(reply, LongReply)
    heads = [c.head_template for c in reply.chunks]
    assert heads == [
        "admin/stats_head",
        "admin/stats_opd",
        "admin/stats_consultations",
        "admin/stats_deadlines",
        "admin/stats_no_innovation",
    ]
    assert f"• {KESEHATAN}: 2 draf (Uji coba 1, Penerapan 1); 1 siap" in reply.chunks[1].body_text
    assert "IGA (2026) — Input profil inovasi" in reply.chunks[3].body_text
    assert "2 draf terkait, 1 belum siap" in reply.chunks[3].body_text
    assert "• Dinas Sosial" in reply.chunks[4].body_text.split("\n")
    assert {b.data for b in buttons(outcome)} == {"s:r", "e:x"}


# ---- role checks on every admin action -----------------------------------------------------------


@pytest.mark.parametrize("command", ["statistik", "ekspor", "siaran"])
def test_an_asn_calling_an_admin_command_gets_nothing(dialog: Dialog, command: str) -> None:
    register(dialog, ANDI)
    outcome = dialog.command(ANDI, command)
    assert [r.template for r in outcome.replies if isinstance(r, Reply)] == ["common/forbidden"]
    with dialog.ctx.db.session() as session:
        assert session.exec(select(ExportRequest)).all() == []
        assert session.exec(select(Broadcast)).all() == []


@pytest.mark.parametrize("data", ["s:r", "e:x", "b:y:1", "b:a:1:all", "b:n:1"])
def test_an_asn_forging_admin_buttons_gets_only_a_refusal(dialog: Dialog, data: str) -> None:
    register(dialog, ANDI)
    register(dialog, ADMIN_ID, name="Admin Klinik")
    dialog.command(ADMIN_ID, "siaran")
    dialog.text(ADMIN_ID, "Pengumuman: kelas menulis proposal hari Jumat.")
    outcome = dialog.callback(ANDI, data)
    assert outcome.notice == "forbidden" and outcome.replies == []
    with dialog.ctx.db.session() as session:
        assert session.exec(select(ExportRequest)).all() == []
        assert [b.status for b in session.exec(select(Broadcast))] == ["draft"]
        assert session.exec(select(BroadcastDelivery)).all() == []


@pytest.mark.parametrize("data", ["s:zz", "b:x", "b:a:1:everyone", "b:y:1:2"])
def test_a_malformed_admin_button_is_stale_for_everyone(dialog: Dialog, data: str) -> None:
    """No route has such data: it is stale before any role is asked."""
    register(dialog, ANDI)
    register(dialog, ADMIN_ID, name="Admin Klinik")
    for user_id in (ANDI, ADMIN_ID):
        outcome = dialog.callback(user_id, data)
        assert outcome.notice == "stale_button" and outcome.replies == []


# ---- the XLSX export -----------------------------------------------------------------------------


def test_workbook_has_proposals_coverage_and_consultations(ctx: ServiceContext) -> None:
    ids = populate(ctx)
    progress: list[tuple[int, int]] = []
    result = build_workbook(ctx, lambda done, total: progress.append((done, total)))
    assert (result.drafts, result.consultations) == (3, 0)
    assert result.filename == "klinik_inovasi_20261123_1000.xlsx"
    book = load_workbook(io.BytesIO(result.content))
    assert book.sheetnames == ["Usulan", "Cakupan OPD", "Konsultasi", "Keterangan"]
    proposals = list(book["Usulan"].iter_rows(values_only=True))
    header = proposals[0]
    assert header[:3] == ("No.", "ID draf", "Judul")
    titles = [s.title for s in ctx.formats["iid"].sections]
    assert all(t in header for t in titles)  # every section a column
    assert "Ringkasan" in header  # and the KIPP sections too
    rows = {r[1]: dict(zip(header, r, strict=True)) for r in proposals[1:]}
    assert len(rows) == 3
    ready = rows[ids["ready"]]
    assert ready["Siap"] == "Ya" and ready["OPD"] == KESEHATAN
    assert ready["Waktu uji coba"] == "Maret 2025"
    assert ready["Rancang bangun — metode pembaharuan"] == strong_iid_answers()["metode"]
    assert isinstance(ready["Dibuat"], datetime)
    formula = rows[ids["formula"]]
    assert formula["Nama inovasi"] == '=HYPERLINK("http://x")'  # text, never a formula
    assert book["Usulan"].cell(row=2 + list(rows).index(ids["formula"]), column=3).data_type == "s"
    assert formula["Tujuan"] == "ab"  # a control character Excel cannot hold is dropped
    coverage = {r[0]: r for r in book["Cakupan OPD"].iter_rows(min_row=2, values_only=True)}
    assert coverage[KESEHATAN][2:7] == (2, 2, 2, 1, "Sudah")
    assert coverage["Dinas Sosial"][6] == "Belum ada inovasi tahun 2026"
    assert progress == []  # three rows: no progress report needed


def test_workbook_scores_are_numbers_with_competitions_and_submission(
    ctx: ServiceContext, clock
) -> None:
    ids = populate(ctx)
    with ctx.db.session() as session:
        link = session.exec(select(DraftLink).where(DraftLink.draft_id == ids["ready"])).one()
        link.submitted_at = clock() - timedelta(days=2)
        session.add(link)
    book = load_workbook(io.BytesIO(build_workbook(ctx).content))
    proposals = list(book["Usulan"].iter_rows(values_only=True))
    rows = {r[1]: dict(zip(proposals[0], r, strict=True)) for r in proposals[1:]}
    ready, weak, alone = rows[ids["ready"]], rows[ids["weak"]], rows[ids["formula"]]
    assert isinstance(ready["Perkiraan skor IID"], int) and ready["Perkiraan skor IID"] > 0
    assert ready["Skor IID maksimum"] == 111
    assert ready["Lomba"] == "IGA 2026" and weak["Lomba"] == "IGA 2026"
    assert ready["Dikirim ke lomba"] == "Sudah" and weak["Dikirim ke lomba"] == "Belum"
    assert ready["Tanggal dikirim"] == datetime(2026, 11, 21, 10, 0)  # WITA, without the zone
    assert alone["Lomba"] is None and alone["Tanggal dikirim"] is None


def test_workbook_consultation_statuses_are_indonesian_words(ctx: ServiceContext) -> None:
    populate(ctx)
    with ctx.db.session() as session:
        for status in ("open", "closed", "expired"):
            session.add(Consultation(asn_id=ANDI, status=status, question="Bagaimana?"))
    book = load_workbook(io.BytesIO(build_workbook(ctx).content))
    statuses = [r[1] for r in book["Konsultasi"].iter_rows(min_row=2, values_only=True)]
    assert statuses == ["Menunggu mentor", "Selesai", "Berakhir tanpa mentor"]


def test_workbook_without_the_consultation_feature(ctx: ServiceContext, monkeypatch) -> None:
    monkeypatch.setattr(statistics, "_consultation_models", lambda: None)
    monkeypatch.setattr("bot.services.exports.PROGRESS_EVERY", 1)
    populate(ctx)
    progress: list[tuple[int, int]] = []
    result = build_workbook(ctx, lambda done, total: progress.append((done, total)))
    assert result.consultations is None and progress == [(1, 3), (2, 3), (3, 3)]
    book = load_workbook(io.BytesIO(result.content))
    assert book["Konsultasi"]["A2"].value.startswith("Data konsultasi belum tersedia")


def test_export_requests_are_queued_once_and_claimed_once(dialog: Dialog, clock) -> None:
    register(dialog, ADMIN_ID, name="Admin Klinik")
    service = ExportService(dialog.ctx)
    first = dialog.command(ADMIN_ID, "ekspor")
    assert first.rebuild == ("exports",) and first.replies[0].template == "admin/export_started"
    assert dialog.command(ADMIN_ID, "ekspor").replies[0].template == "admin/export_busy"
    assert service.wake_times(clock()) == [clock()]
    claimed = service.claim_next(clock())
    assert claimed is not None and claimed.status == "running"
    assert service.claim_next(clock()) is None
    assert service.wake_times(clock()) == []
    clock.advance(seconds=STALE_AFTER.total_seconds() + 1)  # its process died
    assert service.claim_next(clock()).id == claimed.id
    service.finish(claimed.id, True, clock())
    assert service.claim_next(clock()) is None
    assert dialog.callback(ADMIN_ID, "e:x").rebuild == ("exports",)  # a new one may start


def test_cli_export_writes_the_file(ctx: ServiceContext, tmp_path, monkeypatch, capsys) -> None:
    populate(ctx)
    monkeypatch.setenv("DATABASE_URL", ctx.db.url)
    monkeypatch.setenv("REGION_NAME", "Kabupaten Uji")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    target = tmp_path / "rekap.xlsx"
    assert cli_main(["ekspor", str(target)]) == 0
    book = load_workbook(target)
    assert book["Usulan"].max_row == 4 and book["Keterangan"]["B2"].value == "Kabupaten Uji"
    assert "3 usulan" in capsys.readouterr().out
    assert cli_main(["ekspor", str(tmp_path / "rekap.csv")]) == 2
    assert cli_main(["ekspor", str(tmp_path / "tidak-ada" / "rekap.xlsx")]) == 2
    assert "Gagal mengekspor" in capsys.readouterr().err


# ---- /siaran -------------------------------------------------------------------------------------


class FakeTelegram:
    """Stands in for Telegram behind the scheduler's Sender: records, answers per chat."""

    def __init__(self, answers: dict[int, str] | None = None) -> None:
        self.sent: list[tuple[int, AnyReply]] = []
        self.answers = answers or {}

    async def __call__(self, chat_id: int, reply: AnyReply) -> str:
        self.sent.append((chat_id, reply))
        return self.answers.get(chat_id, "delivered")

    def chats(self, template: str) -> list[int]:
        return [c for c, r in self.sent if isinstance(r, Reply) and r.template == template]


def compose(dialog: Dialog, text: str = "Kelas menulis proposal, Jumat pukul 09.00 WITA.") -> int:
    outcome = dialog.command(ADMIN_ID, "siaran")
    assert outcome.replies[0].template == "admin/broadcast_ask_text"
    audience = dialog.text(ADMIN_ID, text)
    assert audience.replies[0].template == "admin/broadcast_audience"
    with dialog.ctx.db.session() as session:
        return session.exec(select(Broadcast).where(Broadcast.status == "draft")).one().id


async def test_broadcast_to_all_preview_confirm_send_and_report(dialog: Dialog) -> None:
    populate(dialog.ctx)
    broadcast_id = compose(dialog, "Kelas <b>menulis</b> & bedah proposal.")
    preview = dialog.callback(ADMIN_ID, f"b:a:{broadcast_id}:all")
    message, summary = preview.replies
    assert message.template == "admin/broadcast_message"
    assert message.context["text"] == "Kelas <b>menulis</b> & bedah proposal."
    assert summary.context["recipients"] == 4 and summary.context["unreachable"] == 1
    assert button_data(preview, label="broadcast_send") == f"b:y:{broadcast_id}"
    confirmed = dialog.callback(ADMIN_ID, f"b:y:{broadcast_id}")
    assert confirmed.notice == "broadcast_sending" and confirmed.rebuild == ("broadcasts",)
    again = dialog.callback(ADMIN_ID, f"b:y:{broadcast_id}")  # a double press sends nothing more
    assert again.notice == "broadcast_closed"
    telegram = FakeTelegram({BUDI: "blocked"})
    source = BroadcastSource(BroadcastService(dialog.ctx))
    assert source.wake_times(dialog.ctx.now()) == [dialog.ctx.now()]
    await source.run_due(dialog.ctx.now(), telegram)
    assert sorted(telegram.chats("admin/broadcast_message")) == [ADMIN_ID, ANDI, BUDI]
    assert telegram.chats("admin/broadcast_report") == [ADMIN_ID]
    report = telegram.sent[-1][1].context["report"]
    assert (report.total, report.delivered, report.blocked, report.failed) == (4, 2, 2, 0)
    # Nothing is due any more; running again sends nothing.
    assert source.wake_times(dialog.ctx.now()) == []
    await source.run_due(dialog.ctx.now(), telegram)
    assert len(telegram.sent) == 4


async def test_a_restart_mid_broadcast_never_sends_twice(dialog: Dialog) -> None:
    populate(dialog.ctx)
    broadcast_id = compose(dialog)
    dialog.callback(ADMIN_ID, f"b:a:{broadcast_id}:all")
    dialog.callback(ADMIN_ID, f"b:y:{broadcast_id}")
    service = BroadcastService(dialog.ctx)
    now = dialog.ctx.now()
    # Before the crash: Andi's message went out and was recorded; Budi's was claimed, and the
    # process died before Telegram answered.
    assert service.claim(broadcast_id, ANDI, now) and not service.claim(broadcast_id, ANDI, now)
    service.record(broadcast_id, ANDI, "delivered", now)
    assert service.claim(broadcast_id, BUDI, now)
    telegram = FakeTelegram({ADMIN_ID: "failed"})
    await BroadcastSource(service).run_due(now, telegram)
    assert telegram.chats("admin/broadcast_message") == [ADMIN_ID]
    report = telegram.sent[-1][1].context["report"]
    assert (report.delivered, report.blocked, report.failed) == (2, 1, 1)


def test_broadcast_to_one_opd_and_to_a_competitions_followers(dialog: Dialog) -> None:
    ids = populate(dialog.ctx)
    broadcast_id = compose(dialog)
    ask = dialog.callback(ADMIN_ID, f"b:a:{broadcast_id}:opd")
    assert ask.replies[0].template == "admin/broadcast_ask_opd"
    matches = dialog.text(ADMIN_ID, "kesehatan")
    preview = dialog.callback(ADMIN_ID, button_data(matches, text=KESEHATAN))
    assert preview.replies[1].context["recipients"] == 2
    assert preview.replies[1].context["audience"] == {"kind": "opd", "label": KESEHATAN}
    change = dialog.callback(ADMIN_ID, f"b:r:{broadcast_id}")
    assert change.replies[0].template == "admin/broadcast_audience"
    competitions = dialog.callback(ADMIN_ID, f"b:a:{broadcast_id}:c")
    data = f"b:c:{broadcast_id}:{ids['competition']}"
    assert [b.text for b in buttons(competitions) if b.data == data] == ["IGA (2026) · 2 pengikut"]
    preview = dialog.callback(ADMIN_ID, data)
    assert preview.replies[1].context["recipients"] == 2  # Budi, and Citra who blocked the bot
    dialog.callback(ADMIN_ID, f"b:y:{broadcast_id}")
    with dialog.ctx.db.session() as session:
        deliveries = {d.user_id: d.status for d in session.exec(select(BroadcastDelivery))}
    assert deliveries == {BUDI: "pending", CITRA: "blocked"}


def test_broadcast_text_is_validated_and_can_be_changed_or_cancelled(dialog: Dialog) -> None:
    populate(dialog.ctx)
    dialog.command(ADMIN_ID, "siaran")
    assert dialog.text(ADMIN_ID, "hai").replies[0].template == "admin/broadcast_text_invalid"
    too_long = dialog.text(ADMIN_ID, "x" * 3501)
    assert too_long.replies[0].context["length"] == 3501
    with dialog.ctx.db.session() as session:
        assert session.exec(select(Broadcast)).all() == []
    broadcast_id = compose(dialog, "Versi pertama pengumuman.")
    dialog.callback(ADMIN_ID, f"b:a:{broadcast_id}:all")
    dialog.callback(ADMIN_ID, f"b:t:{broadcast_id}")
    preview = dialog.text(ADMIN_ID, "Versi kedua pengumuman.")
    assert preview.replies[0].context["text"] == "Versi kedua pengumuman."  # straight to preview
    cancelled = dialog.callback(ADMIN_ID, f"b:n:{broadcast_id}")
    assert cancelled.replies[0].template == "admin/broadcast_cancelled"
    assert dialog.callback(ADMIN_ID, f"b:y:{broadcast_id}").notice == "broadcast_closed"
    # /batal while composing cancels too.
    other = compose(dialog)
    dialog.callback(ADMIN_ID, f"b:a:{other}:opd")
    assert dialog.command(ADMIN_ID, "batal").replies[0].template == "admin/broadcast_cancelled"
    with dialog.ctx.db.session() as session:
        assert {b.status for b in session.exec(select(Broadcast))} == {"cancelled"}
        assert session.exec(select(BroadcastDelivery)).all() == []


def test_another_admins_broadcast_is_not_found(dialog: Dialog) -> None:
    populate(dialog.ctx)
    broadcast_id = compose(dialog)
    other_admin = 901
    dialog.ctx.admin_ids = frozenset({ADMIN_ID, other_admin})
    add_user(dialog.ctx.db, other_admin, "Admin Dua", KESEHATAN)
    for data in (f"b:y:{broadcast_id}", f"b:a:{broadcast_id}:all", "b:y:999"):
        assert dialog.callback(other_admin, data).notice == "broadcast_not_found"
    with dialog.ctx.db.session() as session:
        assert session.get(Broadcast, broadcast_id).status == "draft"


async def test_export_source_sends_progress_then_the_workbook(dialog: Dialog, monkeypatch) -> None:
    monkeypatch.setattr("bot.services.exports.PROGRESS_EVERY", 1)
    monkeypatch.setattr("scheduler.exports.LARGE_EXPORT", 2)
    populate(dialog.ctx)
    dialog.command(ADMIN_ID, "ekspor")
    telegram = FakeTelegram()
    source = ExportSource(ExportService(dialog.ctx))
    await source.run_due(dialog.ctx.now(), telegram)
    kinds = [getattr(r, "template", None) or r.filename for _, r in telegram.sent]
    assert kinds[:3] == ["admin/export_progress"] * 3
    assert kinds[3].endswith(".xlsx") and len(kinds) == 4
    assert {chat for chat, _ in telegram.sent} == {ADMIN_ID}
    with dialog.ctx.db.session() as session:
        assert [r.status for r in session.exec(select(ExportRequest))] == ["done"]
    await source.run_due(dialog.ctx.now(), telegram)  # nothing left to do
    assert len(telegram.sent) == 4


async def test_a_failing_export_is_reported_and_recorded(dialog: Dialog, monkeypatch) -> None:
    populate(dialog.ctx)
    dialog.command(ADMIN_ID, "ekspor")
    service = ExportService(dialog.ctx)

    def broken(progress=None):
        raise OSError("disk full")

    monkeypatch.setattr(service, "build", broken)
    telegram = FakeTelegram()
    await ExportSource(service).run_due(dialog.ctx.now(), telegram)
    assert telegram.chats("admin/export_failed") == [ADMIN_ID]
    with dialog.ctx.db.session() as session:
        assert [r.status for r in session.exec(select(ExportRequest))] == ["failed"]
    assert dialog.command(ADMIN_ID, "ekspor").replies[0].template == "admin/export_started"
