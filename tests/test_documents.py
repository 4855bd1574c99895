"""The proposal as DOCX and PDF: every filled section, verbatim and in order; never failing."""

from __future__ import annotations

import io
from datetime import date

import pytest
from docx import Document
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph as DocxParagraph
from pypdf import PdfReader

from bot.services import documents
from bot.services.answers import display_value
from bot.services.dialog import Dialog
from bot.services.documents import (
    CoverFacts,
    Heading,
    Table,
    build_proposal,
    render_docx,
    render_pdf,
)
from bot.services.formats import FormatRegistry, ProposalFormat
from bot.services.replies import DocumentReply
from tests.helpers import buttons, register
from tests.proposal_samples import add_draft, strong_iid_answers

ANDI, BUDI = 1001, 1002
FACTS = CoverFacts(
    title="SIPANDU BUMIL",
    opd="Puskesmas Pangkajene",
    region="Kabupaten Sidenreng Rappang",
    owner="Andi Mappa'ande",
    day=date(2026, 11, 23),
)


@pytest.fixture(scope="module")
def iid(formats: FormatRegistry) -> ProposalFormat:
    return formats["iid"]


def body_texts(content: bytes) -> list[str]:
    """Every paragraph and table cell of the DOCX body, in document order."""
    doc = Document(io.BytesIO(content))
    texts: list[str] = []
    for element in doc.element.body.iterchildren():
        if element.tag.endswith("}p"):
            texts.append(DocxParagraph(element, doc).text)
        elif element.tag.endswith("}tbl"):
            for row in DocxTable(element, doc).rows:
                texts.extend(cell.text for cell in row.cells)
    return texts


def assert_sections_in_order(fmt: ProposalFormat, answers: dict[str, str], texts: list[str]):
    """Each filled section's text appears unaltered (paragraph by paragraph), in format order."""
    position = 0
    for section in fmt.sections:
        value = display_value(section, answers.get(section.key))
        if not value:
            continue
        for part in [p for p in value.split("\n\n") if p.strip()]:
            found = next((i for i in range(position, len(texts)) if texts[i] == part), None)
            assert found is not None, f"{section.key}: {part[:60]!r} missing or out of order"
            position = found + 1


def pdf_text(content: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_docx_holds_every_filled_section_verbatim_and_in_order(iid) -> None:
    answers = strong_iid_answers()
    content = render_docx(build_proposal(iid, answers, FACTS))
    assert content[:2] == b"PK"
    texts = body_texts(content)
    assert_sections_in_order(iid, answers, texts)
    assert "Maret 2025" in texts and "Juli 2025" in texts  # months shown the Indonesian way


def test_real_text_emoji_html_apostrophes_and_paragraphs_survive(iid) -> None:
    answers = strong_iid_answers()
    answers["nama"] = "SI-CANTIK 😊 <b>Cepat</b> & Tepat — O'Neil's"
    answers["permasalahan"] = (
        "Paragraf pertama dengan emoji 👩🏽‍⚕️🚑 dan tanda <script>alert('x')</script> & &amp;.\n"
        'Baris kedua di paragraf yang sama: "kutip" ‘tunggal’.\n\n'
        "Paragraf kedua: Jum'at, 12/03/2025, 41% → 8%."
    )
    answers["manfaat"] = "Masyarakat:\ttab\u00a0nbsp \u200bzwsp\x07 kontrol dibuang."
    content = render_docx(build_proposal(iid, answers, FACTS))
    texts = body_texts(content)
    expected = dict(answers, manfaat="Masyarakat:\ttab\u00a0nbsp \u200bzwsp kontrol dibuang.")
    assert_sections_in_order(iid, expected, texts)
    _, text = pdf_text(render_pdf(build_proposal(iid, answers, FACTS)))
    assert "Jum'at, 12/03/2025" in text and "<script>" in text


def test_very_long_sections_paginate_in_both_files(iid) -> None:
    answers = strong_iid_answers()
    long_text = ("Kader posyandu mencatat dan melaporkan data ibu hamil setiap hari. " * 170)[
        :12000
    ].strip()
    for key in ("dasar_hukum", "permasalahan", "isu_strategis", "metode", "keunggulan"):
        answers[key] = long_text
    answers["cara_kerja"] = "1. " + "x" * 5000 + " 2. Langkah kedua yang singkat."  # a huge word
    document = build_proposal(iid, answers, FACTS)
    assert_sections_in_order(iid, answers, body_texts(render_docx(document)))
    pages, text = pdf_text(render_pdf(document))
    assert pages > 15
    assert "Halaman 2 dari" in text and f"Halaman {pages} dari {pages}" in text


def test_empty_optional_sections_are_left_out_cleanly(iid) -> None:
    answers = strong_iid_answers()
    del answers["anggaran"], answers["waktu_penerapan"]
    answers["tahapan"] = "Inisiatif"
    document = build_proposal(iid, answers, FACTS)
    headings = [b.text for b in document.blocks if isinstance(b, Heading)]
    assert not any("Anggaran" in h for h in headings)
    captions = [b.caption for b in document.blocks if isinstance(b, Table)]
    assert not any("anggaran" in c for c in captions)
    timeline = next(b for b in document.blocks if isinstance(b, Table) and "Jadwal" in b.caption)
    assert timeline.rows == (("Uji coba", "Maret 2025"),)
    assert "Catatan" not in " ".join(line.text for line in document.cover)  # nothing required


def test_layout_cover_headings_and_tables(iid) -> None:
    document = build_proposal(iid, strong_iid_answers(), FACTS)
    cover = [line.text for line in document.cover]
    assert cover[:2] == ["KABUPATEN SIDENRENG RAPPANG", "PUSKESMAS PANGKAJENE"]
    assert "SIPANDU BUMIL" in cover and "Disusun oleh Andi Mappa'ande" in cover
    assert "Kabupaten Sidenreng Rappang, 23 November 2026" in cover and "2026" in cover
    headings = [(b.level, b.text) for b in document.blocks if isinstance(b, Heading)]
    assert headings[:3] == [
        (1, "A. Identitas Inovasi"),
        (1, "B. Rancang Bangun dan Pokok Perubahan"),
        (2, "1. Dasar hukum"),
    ]
    assert headings[-1] == (1, "F. Anggaran")
    tables = {b.caption: b for b in document.blocks if isinstance(b, Table)}
    assert tables["Tabel 1. Jadwal pelaksanaan"].rows == (
        ("Uji coba", "Maret 2025"),
        ("Penerapan", "Juli 2025"),
    )
    steps = tables["Tabel 2. Langkah kerja"].rows
    assert [n for n, _ in steps] == ["1.", "2.", "3.", "4."]
    assert steps[2][1].startswith("Bidan desa berkunjung")
    assert tables["Tabel 3. Rincian anggaran"].rows == (
        ("Jumlah", "Rp 15.000.000"),
        ("Sumber dana", "APBD, BOK"),
    )
    assert document.filename_stem == "Proposal_SIPANDU_BUMIL"


def test_docx_has_page_number_fields_a4_and_metadata(iid) -> None:
    doc = Document(io.BytesIO(render_docx(build_proposal(iid, strong_iid_answers(), FACTS))))
    section = doc.sections[0]
    assert round(section.page_width.cm, 1) == 21.0 and round(section.page_height.cm, 1) == 29.7
    assert section.different_first_page_header_footer  # no number on the cover
    footer_xml = section.footer._element.xml
    assert 'w:instr="PAGE"' in footer_xml and 'w:instr="NUMPAGES"' in footer_xml
    assert doc.core_properties.title == "SIPANDU BUMIL"
    assert doc.core_properties.author == "Andi Mappa'ande"


def test_incomplete_draft_says_so_on_the_cover(iid) -> None:
    document = build_proposal(iid, {"nama": "SIPANDU", "tujuan": "Menurunkan AKI 10%."}, FACTS)
    assert document.cover[-1].text.endswith("16 bagian wajib belum diisi.")
    assert [b.text for b in document.blocks if isinstance(b, Heading)] == [
        "A. Identitas Inovasi",
        "B. Tujuan",
    ]


def test_kipp_format_renders(formats: FormatRegistry) -> None:
    kipp = formats["kipp"]
    answers = {s.key: s.example for s in kipp.sections}
    document = build_proposal(kipp, answers, FACTS)
    assert_sections_in_order(kipp, answers, body_texts(render_docx(document)))
    _, text = pdf_text(render_pdf(document))
    assert "Signifikansi" in text


def test_pdf_without_the_shipped_font_falls_back_to_latin1(iid, monkeypatch) -> None:
    layout = dict(documents.load_layout())
    layout["pdf"] = dict(layout["pdf"], regular="fonts/missing.ttf", bold="fonts/missing.ttf")
    monkeypatch.setattr(documents, "load_layout", lambda: layout)
    answers = strong_iid_answers()
    answers["nama"] = "SI-CANTIK 😊 — “cepat” O'Neil"
    _, text = pdf_text(render_pdf(build_proposal(iid, answers, FACTS)))
    assert "SI-CANTIK" in text and "O'Neil" in text


# ---- the feature ---------------------------------------------------------------------------------


def test_download_docx_and_pdf_of_an_own_draft(dialog: Dialog) -> None:
    register(dialog, ANDI)
    answers = strong_iid_answers()
    draft_id = add_draft(dialog.ctx.db, ANDI, dialog.ctx.formats["iid"], answers)
    outcome = dialog.callback(ANDI, f"u:w:{draft_id}")
    reply = outcome.replies[0]
    assert isinstance(reply, DocumentReply) and outcome.notice == "document_sent"
    assert reply.filename.endswith(".docx") and reply.filename.isascii()
    assert reply.caption_context == {"title": answers["nama"], "kind": "docx", "missing": 0}
    texts = body_texts(reply.content)
    assert_sections_in_order(dialog.ctx.formats["iid"], answers, texts)
    assert "Andi Pratiwi" in " ".join(texts)  # the owner on the cover
    assert "Kabupaten Uji" in " ".join(texts)  # REGION_NAME
    assert [b.data for row in reply.buttons for b in row] == [f"u:p:{draft_id}", f"d:o:{draft_id}"]
    pdf = dialog.callback(ANDI, f"u:p:{draft_id}").replies[0]
    assert isinstance(pdf, DocumentReply) and pdf.content.startswith(b"%PDF")
    assert pdf.filename.endswith(".pdf")


def test_download_of_an_empty_draft_explains_instead(dialog: Dialog) -> None:
    register(dialog, ANDI)
    draft_id = add_draft(dialog.ctx.db, ANDI, dialog.ctx.formats["iid"], {})
    outcome = dialog.callback(ANDI, f"u:w:{draft_id}")
    assert [r.template for r in outcome.replies] == ["ready/document_empty"]


@pytest.mark.parametrize("data", ["u:w:{id}", "u:p:{id}", "u:x:{id}", "u:w:abc", "u:w"])
def test_forged_download_reveals_nothing(dialog: Dialog, data: str) -> None:
    register(dialog, ANDI)
    register(dialog, BUDI, name="Budi Santoso")
    draft_id = add_draft(dialog.ctx.db, ANDI, dialog.ctx.formats["iid"], strong_iid_answers())
    outcome = dialog.callback(BUDI, data.format(id=draft_id))
    assert not any(isinstance(r, DocumentReply) for r in outcome.replies)
    assert outcome.notice in ("draft_not_found", "stale_button")


def test_summary_of_an_opened_draft_offers_download_and_readiness(dialog: Dialog) -> None:
    register(dialog, ANDI)
    draft_id = add_draft(dialog.ctx.db, ANDI, dialog.ctx.formats["iid"], {"nama": "SIPANDU"})
    labels = {b.label: b.data for b in buttons(dialog.callback(ANDI, f"d:o:{draft_id}"))}
    assert labels["download_proposal"] == f"u:w:{draft_id}"
    assert labels["check_readiness"] == f"q:v:{draft_id}"
