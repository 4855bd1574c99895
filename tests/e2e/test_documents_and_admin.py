"""Proposal downloads, the readiness check and the coordinator's tools, end to end."""

from __future__ import annotations

import asyncio
import io

from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlmodel import select

from bot.emulator import BotApiEmulator
from bot.services.formats import FormatRegistry
from models import repository as repo
from models.tables import Answer, Draft, User
from models.types import utcnow
from tests.conftest import ADMIN_ID
from tests.e2e.chat import labels, plain, press, register, say
from tests.e2e.conftest import RunningBot
from tests.proposal_samples import add_draft, strong_iid_answers

ANDI, BUDI, CITRA = 1001, 1002, 1003


def documents(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["kind"] == "document"]


async def wait_for_document(user, timeout: float = 20.0) -> tuple[list[dict], dict]:
    """Everything the bot sends until a file arrives, and the file."""
    received: list[dict] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        message = await user.receive(timeout=deadline - asyncio.get_running_loop().time())
        received.append(message)
        if message["kind"] == "document":
            return received, message
    raise AssertionError(f"no document within {timeout}s: {[m['plain'] for m in received]}")


async def test_download_proposal_as_docx_then_pdf(bot: RunningBot, emulator: BotApiEmulator):
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi, name="Andi Mappa'ande")
    await say(andi, "/ide")
    await press(andi, "Profil Inovasi Daerah")
    title = "SI-CANTIK <Cepat> & Tepat 😊 O'Neil"
    await say(andi, title)
    await say(andi, "/batal")
    await say(andi, "/draf")
    _, opened = await press(andi, "SI-CANTIK")
    assert "Unduh proposal" in " ".join(labels(opened[-1]))
    answer, sent = await press(andi, "Unduh proposal")
    assert answer["text"] == "Berkas dikirim."
    [docx_message] = documents(sent)
    file = docx_message["file"]
    assert file["file_name"] == "Proposal_SI_CANTIK_Cepat_Tepat_O_Neil.docx"
    assert "belum lengkap, 17 bagian wajib belum diisi" in docx_message["plain"]
    texts = [p.text for p in Document(io.BytesIO(file["content"])).paragraphs]
    assert title in texts and "Andi Mappa'ande" in " ".join(texts)
    assert labels(docx_message) == ["📄 Versi PDF", "« Kembali ke draf"]
    _, sent = await press(andi, "Versi PDF", message_id=docx_message["message_id"])
    [pdf_message] = documents(sent)
    assert pdf_message["file"]["file_name"].endswith(".pdf")
    assert pdf_message["file"]["content"].startswith(b"%PDF")
    _, back = await press(andi, "Kembali ke draf", message_id=pdf_message["message_id"])
    assert "Unduh proposal" in " ".join(labels(back[-1]))
    assert all(c.error_code is None for c in emulator.calls_to("editMessageText"))


async def test_approval_page_names_the_opd_head_set_by_the_admin(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    admin = emulator.user(ADMIN_ID, first_name="Admin")
    await register(admin, name="Admin Klinik", opd="BRIDA")
    await say(admin, "/opd")
    await press(admin, "Kepala OPD")
    found = await say(admin, "kesehatan")
    _, asked = await press(admin, "Dinas Kesehatan")
    assert "Ketik data kepala OPD" in plain(asked)
    saved = await say(admin, "dr. Hasnah Syam, M.Kes\n19750505 200312 2 002")
    assert "Data kepala Dinas Kesehatan tersimpan" in plain(saved), plain(found)
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi, name="Andi Mappa'ande")
    add_draft(bot.database, ANDI, FormatRegistry.load()["iid"], strong_iid_answers())
    await say(andi, "/draf")
    await press(andi, "SIPANDU BUMIL")
    await press(andi, "Unduh proposal")
    _, sent = await press(andi, "Versi PDF")
    [pdf_message] = documents(sent)
    approval = PdfReader(io.BytesIO(pdf_message["file"]["content"])).pages[1].extract_text()
    assert "LEMBAR PENGESAHAN" in approval and "Kepala Dinas Kesehatan" in approval
    assert "dr. Hasnah Syam, M.Kes" in approval and "NIP. 19750505 200312 2 002" in approval
    assert "Andi Mappa'ande" in approval


async def test_readiness_report_and_evidence_checklist(bot: RunningBot, emulator: BotApiEmulator):
    andi = emulator.user(ANDI, first_name="Andi")
    await register(andi)
    answers = strong_iid_answers()
    answers["tujuan"] = "Meningkatkan mutu layanan ibu hamil di desa."
    add_draft(bot.database, ANDI, FormatRegistry.load()["iid"], answers)
    await say(andi, "/draf")
    await press(andi, "SIPANDU BUMIL")
    answer, report = await press(andi, "Cek kesiapan")
    assert answer["text"] == "Cek kesiapan selesai."
    text = plain(report)
    assert "Cek kesiapan: SIPANDU BUMIL" in text and "Belum siap" in text
    assert "Tujuan belum terukur" in text
    assert "Perkiraan skor: 0 dari 111" in text
    assert "Tiga langkah paling berharga berikutnya" in text
    assert "1. Siapkan bukti dukung indikator wajib Kualitas inovasi (video)" in text
    _, checklist = await press(andi, "Daftar bukti IID")
    assert checklist[-1]["edited"] and len(labels(checklist[-1])) == 22
    for name in ("Regulasi", "Ketersediaan SDM", "Kecepatan", "Kemanfaatan", "Kualitas inovasi"):
        _, detail = await press(andi, name)
        assert "Level 1:" in plain(detail)
        answer, updated = await press(andi, "Level 2")
        assert answer["text"] == "Tersimpan ✅"
    assert "✅ 20. Kualitas inovasi (video)* · level 2" in labels(updated[-1])
    assert "Semua indikator wajib sudah ada buktinya" in plain(updated)
    _, report = await press(andi, "Hasil cek")
    assert "Siap diunggah" in plain(report) and "Perkiraan skor: 28 dari 111" in plain(report)
    # Budi cannot read or tick Andi's draft, whatever he sends.
    budi = emulator.user(BUDI, first_name="Budi")
    await register(budi, name="Budi Santoso")
    with bot.database.session() as session:
        draft_id = repo.drafts_of(session, ANDI)[0].id
    for data in (f"q:v:{draft_id}", f"q:s:{draft_id}:0:3", f"u:w:{draft_id}"):
        answer = await budi.press_data(data)
        assert answer["text"] == "Draf tidak ditemukan."
        assert "tidak ditemukan" in plain(await budi.receive_all(idle=0.15))


async def test_statistics_for_the_admin_only(bot: RunningBot, emulator: BotApiEmulator):
    admin = emulator.user(ADMIN_ID, first_name="Admin")
    andi = emulator.user(ANDI, first_name="Andi")
    await register(admin, name="Admin Klinik", opd="brida")
    await register(andi)
    await say(andi, "/ide")
    await press(andi, "Profil Inovasi Daerah")
    await say(andi, "SIPANDU BUMIL")
    await press(andi, "ASN")
    await press(andi, "Uji coba")
    with bot.database.session() as session:
        opd = session.get(User, ANDI).opd_id
        opd_name = next(o.name for o in repo.active_opds(session) if o.id == opd)
    stats = await say(admin, "/statistik")
    text = plain(stats)
    assert "Statistik Klinik Inovasi — Kabupaten Sidenreng Rappang" in text
    assert "Draf usulan: 1, siap diunggah: 0 (0%)" in text
    assert f"• {opd_name}: 1 draf (Uji coba 1); 0 siap" in text
    assert "Konsultasi" in text and "Tidak ada tenggat lomba" in text
    assert "Satu Instansi Satu Inovasi 2026" in text or "Satu Instansi Satu Inovasi" in text
    assert opd_name not in text.split("Satu Instansi Satu Inovasi")[1]
    assert all(len(m["plain"]) <= 4096 for m in stats)
    assert labels(stats[-1]) == ["🔄 Perbarui", "📊 Ekspor XLSX"]
    # The ASN gets a polite refusal, and forged buttons give nothing away.
    refused = await say(andi, "/statistik")
    assert "khusus untuk admin" in plain(refused)
    for data in ("s:r", "e:x", "b:y:1"):
        answer = await andi.press_data(data)
        assert answer["text"] == "Khusus admin." and answer["show_alert"]
    for command in ("/ekspor", "/siaran"):
        assert "khusus untuk admin" in plain(await say(andi, command))
    assert await andi.receive_all(idle=0.3, timeout=0.6) == []


async def test_large_export_shows_progress_and_never_blocks_others(
    bot: RunningBot, emulator: BotApiEmulator
):
    admin = emulator.user(ADMIN_ID, first_name="Admin")
    andi = emulator.user(ANDI, first_name="Andi")
    await register(admin, name="Admin Klinik", opd="brida")
    await register(andi)
    now = utcnow()
    with bot.database.session() as session:
        for number in range(600):
            draft = Draft(owner_id=ANDI, format_key="iid", created_at=now, updated_at=now)
            session.add(draft)
            session.flush()
            session.add(Answer(draft_id=draft.id, section_key="nama", value=f"Inovasi {number}"))
            session.add(Answer(draft_id=draft.id, section_key="tahapan", value="Penerapan"))
    # Andi writes right after the admin asks for the export: the workbook is built off the
    # update pipeline, so Andi is answered while it is still being built.
    await admin.send("/ekspor")
    await andi.send("/draf")
    assert "Inovasi 599" in (await andi.receive(timeout=5))["plain"]
    before, workbook_message = await wait_for_document(admin)
    assert "sedang disiapkan (600 usulan)" in before[0]["plain"]
    assert "kemajuan pembuatannya akan dilaporkan" in before[0]["plain"]
    andi_answered = emulator.sent_to(ANDI)[-1].at
    assert andi_answered < emulator.calls_to("sendDocument")[-1].at
    progress = [m["plain"] for m in before if "Ekspor:" in m["plain"]]
    assert progress == [
        "⏳ Ekspor: 250 dari 600 usulan sudah diproses (42%).",
        "⏳ Ekspor: 500 dari 600 usulan sudah diproses (83%).",
    ]
    assert workbook_message["file"]["file_name"].endswith(".xlsx")
    assert "Usulan (600 baris)" in workbook_message["plain"]
    book = load_workbook(io.BytesIO(workbook_message["file"]["content"]))
    assert book["Usulan"].max_row == 601
    assert documents(await andi.receive_all(idle=0.2, timeout=0.4)) == []


async def test_broadcast_preview_confirm_and_report(bot: RunningBot, emulator: BotApiEmulator):
    admin = emulator.user(ADMIN_ID, first_name="Admin")
    andi = emulator.user(ANDI, first_name="Andi")
    budi = emulator.user(BUDI, first_name="Budi")
    citra = emulator.user(CITRA, first_name="Citra")
    await register(admin, name="Admin Klinik", opd="brida")
    for user, name in ((andi, "Andi Pratiwi"), (budi, "Budi Santoso"), (citra, "Citra Lestari")):
        await register(user, name=name)
    emulator.block(CITRA, notify=False)  # the bot learns it only when a send answers 403
    ask = await say(admin, "/siaran")
    assert "Siaran baru" in plain(ask)
    text = "Kelas <menulis> & bedah proposal, Jumat 09.00 WITA. Bawa draf Bapak/Ibu!"
    audience = await say(admin, text)
    assert labels(audience[-1]) == ["👥 Semua ASN", "🏢 Satu OPD", "🏆 Pengikut lomba", "Batal"]
    _, preview = await press(admin, "Semua ASN")
    assert preview[0]["plain"] == f"📢 Pengumuman Klinik Inovasi\n\n{text}"
    assert "semua ASN terdaftar — 4 orang" in preview[-1]["plain"]
    assert await andi.receive_all(idle=0.2, timeout=0.4) == []  # nothing is sent before confirming
    answer, started = await press(admin, "Kirim sekarang")
    assert answer["text"] == "Siaran mulai dikirim."
    assert "sedang dikirim" in plain(started)
    received = await andi.receive(timeout=10)
    assert received["plain"] == f"📢 Pengumuman Klinik Inovasi\n\n{text}"
    assert (await budi.receive(timeout=10))["plain"] == received["plain"]
    admin_messages = list(started)
    while not any("Laporan siaran" in m["plain"] for m in admin_messages):
        admin_messages.append(await admin.receive(timeout=10))
    report = next(m for m in admin_messages if "Laporan siaran" in m["plain"])
    assert any(m["plain"] == received["plain"] for m in admin_messages)  # the admin's own copy
    assert "Terkirim: 3" in report["plain"] and "Diblokir: 1" in report["plain"]
    assert "Gagal: 0" in report["plain"] and "Jumlah penerima: 4" in report["plain"]
    with bot.database.session() as session:
        assert session.exec(select(User).where(User.id == CITRA)).one().reachable is False
    # Pressing "Kirim sekarang" again sends nothing more.
    send_button = preview[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    answer = await admin.press_data(send_button)
    assert answer["text"] == "Siaran ini sudah dikirim atau dibatalkan."
    assert await andi.receive_all(idle=0.3, timeout=0.6) == []
