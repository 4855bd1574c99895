"""The proposal as DOCX and PDF: every filled section, verbatim and in order; never failing."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph as DocxParagraph
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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
from bot.services.readiness import split_steps
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


STEP_SECTIONS = {"cara_kerja", "implementasi"}  # printed as a table of steps (or a list)


def expected_parts(section_key: str, value: str) -> list[str]:
    """What a section's answer prints as: its paragraphs; a numbered text's steps once each
    (in the steps table); lines starting with a number or bullet one list item each."""
    steps = split_steps(value) if section_key in STEP_SECTIONS else []
    if steps and max(map(len, steps)) > documents.STEP_CELL_MAX:  # too long for a table row
        return [f"{n}.\t{step}" for n, step in enumerate(steps, start=1)]
    if steps:
        return [" ".join(step.split()) for step in steps]
    parts: list[str] = []
    for paragraph in [p for p in value.split("\n\n") if p.strip()]:
        lines = [line.strip() for line in paragraph.split("\n") if line.strip()]
        numbered = [re.match(r"^(\d+\.|[-•])\s+(.*)$", line) for line in lines]
        if len(lines) > 1 and (section_key == "dasar_hukum" or sum(map(bool, numbered)) >= 2):
            parts.extend(
                f"{m.group(1)}\t{m.group(2)}" if m else line
                for line, m in zip(lines, numbered, strict=True)
            )
        else:
            parts.append(paragraph)
    return parts


def assert_sections_in_order(fmt: ProposalFormat, answers: dict[str, str], texts: list[str]):
    """Each filled section's text appears unaltered (paragraph by paragraph), in format order."""
    position = 0
    for section in fmt.sections:
        value = display_value(section, answers.get(section.key))
        if not value:
            continue
        for part in expected_parts(section.key, value):
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
    assert "Halaman 3 dari" in text and f"Halaman {pages} dari {pages}" in text
    assert "Halaman 2 dari" not in text  # the cover and the approval page carry no number


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
    assert cover[:2] == ["PEMERINTAH KABUPATEN SIDENRENG RAPPANG", "PUSKESMAS PANGKAJENE"]
    assert "SIPANDU BUMIL" in cover and "Andi Mappa'ande" in cover
    assert [line for line in cover if "2026" in line] == ["TAHUN 2026"]  # the year once
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
    assert document.filename_stem == "Proposal_SIPANDU_BUMIL"


def test_government_heading_from_the_region_name() -> None:
    assert documents.government_of("Kabupaten Sidenreng Rappang") == (
        "PEMERINTAH KABUPATEN SIDENRENG RAPPANG"
    )
    assert documents.government_of("Kota Parepare") == "PEMERINTAH KOTA PAREPARE"
    assert documents.government_of("Provinsi Sulawesi Selatan") == (
        "PEMERINTAH PROVINSI SULAWESI SELATAN"
    )
    assert documents.government_of("Kab. Mamuju Tengah") == "PEMERINTAH KABUPATEN MAMUJU TENGAH"
    assert documents.government_of("Pemerintah Kota Pontianak") == "PEMERINTAH KOTA PONTIANAK"
    assert documents.region_without_kind("Kabupaten Sidenreng Rappang") == "Sidenreng Rappang"


def test_work_steps_are_printed_once_in_their_table(iid) -> None:
    answers = strong_iid_answers()
    answers["cara_kerja"] = "Alurnya sebagai berikut.\n" + answers["cara_kerja"]
    document = build_proposal(iid, answers, FACTS)
    texts = body_texts(render_docx(document))
    step = "Bidan desa berkunjung ke rumah ibu dalam dua hari dan mencatat hasilnya."
    assert sum(step in text for text in texts) == 1
    assert "Alurnya sebagai berikut." in texts  # what came before the first step is kept
    _, text = pdf_text(render_pdf(document))
    assert text.count("Bidan desa berkunjung") == 1


def test_a_paragraph_after_the_last_step_follows_the_steps_table(iid) -> None:
    answers = strong_iid_answers()
    answers["cara_kerja"] += "\n\nDengan alur ini rujukan tidak lagi terlambat."
    blocks = build_proposal(iid, answers, FACTS).blocks
    steps = next(i for i, b in enumerate(blocks) if isinstance(b, Table) and "Langkah" in b.caption)
    assert blocks[steps].rows[-1][1].endswith("sampai ibu melahirkan.")
    assert blocks[steps + 1] == documents.Paragraph("Dengan alur ini rujukan tidak lagi terlambat.")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    legal=st.text(alphabet=st.sampled_from("1a.-•;: \nRpAPBD2025jutaxX,"), max_size=120),
    steps=st.text(alphabet=st.sampled_from("123. \n\n-•abc"), max_size=120),
    budget=st.text(
        alphabet=st.sampled_from("Rp 0123456789.,jutamiliarpertahun2025APBD;\n"), max_size=80
    ),
)
def test_any_list_steps_or_budget_text_renders(legal: str, steps: str, budget: str) -> None:
    fmt = FormatRegistry.load()["iid"]
    answers = dict(strong_iid_answers(), dasar_hukum=legal, cara_kerja=steps, anggaran=budget)
    document = build_proposal(fmt, {k: v for k, v in answers.items() if v.strip()}, FACTS)
    assert render_docx(document)[:2] == b"PK"
    assert render_pdf(document)[:4] == b"%PDF"


def test_budget_table_has_a_row_per_year_and_a_total(iid) -> None:
    document = build_proposal(iid, strong_iid_answers(), FACTS)
    budget = next(b for b in document.blocks if isinstance(b, Table) and "anggaran" in b.caption)
    assert budget.headers == ("Tahun", "Jumlah", "Sumber dana")
    assert budget.rows == (
        ("2025", "Rp 15.000.000", "APBD, BOK"),
        ("2026", "Rp 15.000.000", "APBD, BOK"),
        ("Jumlah seluruhnya", "Rp 30.000.000", ""),
    )
    assert budget.total
    answers = strong_iid_answers()
    answers["anggaran"] = "Tahun 2025: Rp 10 juta dari APBD; tahun 2026: Rp 1,5 juta dari CSR."
    budget = next(
        b
        for b in build_proposal(iid, answers, FACTS).blocks
        if isinstance(b, Table) and "anggaran" in b.caption
    )
    assert budget.rows == (
        ("2025", "Rp 10.000.000", "APBD"),
        ("2026", "Rp 1.500.000", "CSR"),
        ("Jumlah seluruhnya", "Rp 11.500.000", ""),
    )
    docx_texts = body_texts(render_docx(document))
    assert "2026" in docx_texts and "Rp 30.000.000" in docx_texts
    _, text = pdf_text(render_pdf(document))
    assert "Jumlah seluruhnya" in text and "Rp 30.000.000" in text


def test_legal_basis_keeps_the_users_lines_and_numbers_as_a_list(iid) -> None:
    answers = strong_iid_answers()
    answers["dasar_hukum"] = (
        "1. Undang-Undang Nomor 23 Tahun 2014 tentang Pemerintahan Daerah;\n"
        "2. Peraturan Pemerintah Nomor 38 Tahun 2017 tentang Inovasi Daerah;\n"
        "3. SK Kepala Puskesmas Pangkajene Nomor 12 Tahun 2024."
    )
    document = build_proposal(iid, answers, FACTS)
    lists = [b for b in document.blocks if isinstance(b, documents.ListBlock)]
    assert [(i.marker, i.text[:22]) for i in lists[0].items] == [
        ("1.", "Undang-Undang Nomor 23"),
        ("2.", "Peraturan Pemerintah N"),
        ("3.", "SK Kepala Puskesmas Pa"),
    ]
    doc = Document(io.BytesIO(render_docx(document)))
    items = [p for p in doc.paragraphs if p.text.startswith(("1.\t", "2.\t", "3.\t"))]
    assert [p.text.split("\t")[0] for p in items] == ["1.", "2.", "3."]
    assert all(p.paragraph_format.first_line_indent < 0 for p in items)  # hanging numbers
    assert all(p.alignment != WD_ALIGN_PARAGRAPH.JUSTIFY for p in items)
    reader = PdfReader(io.BytesIO(render_pdf(document)))
    lines = "\n".join(page.extract_text() for page in reader.pages).splitlines()
    assert any(line.startswith("2.") and "Peraturan Pemerintah" in line for line in lines)


def test_docx_has_page_number_fields_a4_and_metadata(iid) -> None:
    doc = Document(io.BytesIO(render_docx(build_proposal(iid, strong_iid_answers(), FACTS))))
    cover, body = doc.sections
    assert round(body.page_width.cm, 1) == 21.0 and round(body.page_height.cm, 1) == 29.7
    assert "PAGE" not in cover.footer._element.xml  # no number on the cover and approval page
    footer_xml = body.footer._element.xml
    assert 'w:instr="PAGE"' in footer_xml and 'w:instr="NUMPAGES"' in footer_xml
    assert doc.core_properties.title == "SIPANDU BUMIL"
    assert doc.core_properties.author == "Andi Mappa'ande"


def test_docx_language_is_indonesian_and_font_from_the_layout(iid) -> None:
    doc = Document(io.BytesIO(render_docx(build_proposal(iid, strong_iid_answers(), FACTS))))
    styles_xml = doc.styles.element.xml
    assert "en-US" not in styles_xml and "en-US" not in doc.settings.element.xml
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    lang = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}")
    assert lang.get(qn("w:val")) == "id-ID"
    layout = documents.load_layout()["docx"]
    assert doc.styles["Normal"].font.size.pt == layout["size"] == 12
    for name in ("Normal", "Heading 1", "Heading 2"):
        fonts = doc.styles[name].element.find(f"{qn('w:rPr')}/{qn('w:rFonts')}")
        assert fonts.get(qn("w:ascii")) == layout["font"] == "Arial", name
        assert not [a for a in fonts.attrib if a.lower().endswith("theme")], name


def test_docx_tables_keep_captions_and_fit_their_columns(iid) -> None:
    doc = Document(io.BytesIO(render_docx(build_proposal(iid, strong_iid_answers(), FACTS))))
    captions = [p for p in doc.paragraphs if p.text.startswith("Tabel ")]
    assert captions and all(p.paragraph_format.keep_with_next for p in captions)
    steps = next(t for t in doc.tables if t.cell(0, 0).text == "No.")
    grid = [int(c.get(qn("w:w"))) / 567 for c in steps._tbl.tblGrid.findall(qn("w:gridCol"))]
    assert grid[0] < 1.6 and grid[1] > 13  # centimetres: "No." is narrow, the step wide
    assert steps.rows[1].cells[0].width.cm < 1.6
    layout = steps._tbl.tblPr.find(qn("w:tblLayout"))
    assert layout is not None and layout.get(qn("w:type")) == "fixed"


def test_pdf_caption_is_on_the_page_of_its_tables_first_row(iid) -> None:
    """Whatever the length of the text before it, a caption never ends a page alone."""
    checked = 0
    for extra in range(0, 60, 4):
        answers = strong_iid_answers()
        answers["keunggulan"] += " Kalimat tambahan untuk menggeser tata letak." * extra
        reader = PdfReader(io.BytesIO(render_pdf(build_proposal(iid, answers, FACTS))))
        pages = [page.extract_text() for page in reader.pages]
        for caption, first_cell in (("Tabel 1. Jadwal", "Uji coba"), ("Tabel 2. Langkah", "1.")):
            page = next(p for p in pages if caption in p)
            after = page.split(caption, 1)[1]
            assert first_cell in after, (extra, caption)
            checked += 1
    assert checked == 30


def test_approval_page_with_the_heads_and_the_authors_nip(iid) -> None:
    facts = replace(
        FACTS,
        owner_nip="198001012005011001",
        place="Pangkajene",
        head_name="dr. Hasnah Syam, M.Kes",
        head_nip="197505052003122002",
        head_position="Kepala UPT Puskesmas Pangkajene",
    )
    document = build_proposal(iid, strong_iid_answers(), facts)
    approval = document.approval
    assert approval.title == "LEMBAR PENGESAHAN"
    assert approval.place_date == "Pangkajene, 23 November 2026"
    assert approval.left.position == "Kepala UPT Puskesmas Pangkajene"
    assert approval.left.name == "dr. Hasnah Syam, M.Kes"
    assert approval.left.nip == "NIP. 19750505 200312 2 002"
    assert approval.right.nip == "NIP. 19800101 200501 1 001"
    assert ("NIP penyusun", "19800101 200501 1 001") in approval.rows
    reader = PdfReader(io.BytesIO(render_pdf(document)))
    second = reader.pages[1].extract_text()
    assert "LEMBAR PENGESAHAN" in second and "dr. Hasnah Syam, M.Kes" in second
    assert "NIP. 19750505 200312 2 002" in second and "Pangkajene, 23 November 2026" in second
    texts = "\n".join(body_texts(render_docx(document)))
    assert "LEMBAR PENGESAHAN" in texts and "\nNIP. 19750505 200312 2 002" in texts


def test_approval_page_without_a_known_head_has_lines_to_fill_by_hand(iid) -> None:
    approval = build_proposal(iid, strong_iid_answers(), FACTS).approval
    assert approval.left.position == "Kepala Puskesmas Pangkajene"
    assert approval.left.name.startswith("....") and approval.left.nip.startswith("NIP. ....")
    assert approval.right.name == "Andi Mappa'ande" and approval.right.nip == ""
    assert approval.place_date == "Sidenreng Rappang, 23 November 2026"
    assert not any(label == "NIP penyusun" for label, _ in approval.rows)


def test_filename_is_cut_at_a_word_boundary(iid) -> None:
    title = "Sistem Informasi Pemantauan Terpadu Ibu Hamil Berisiko Tinggi Berbasis Masyarakat Desa"
    stem = build_proposal(iid, {"nama": title}, replace(FACTS, title=title)).filename_stem
    words = stem.removeprefix("Proposal_").split("_")
    assert words == title.split()[: len(words)] and len(words) >= 5
    assert len(stem.removeprefix("Proposal_")) <= documents.FILENAME_MAX
    long_word = build_proposal(iid, {}, replace(FACTS, title="x" * 90)).filename_stem
    assert long_word == "Proposal_" + "x" * documents.FILENAME_MAX


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
    monkeypatch.setattr(documents.pdf, "load_layout", lambda: layout)  # where render_pdf reads it
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
    assert "PEMERINTAH KABUPATEN UJI" in texts  # REGION_NAME
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
