"""The readiness check: rules and IID weights as data, the evidence checklist, authorisation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlmodel import select

from bot.services.dialog import Dialog
from bot.services.formats import FormatRegistry
from bot.services.readiness import (
    RuleSet,
    assess_readiness,
    load_indicators,
    load_rules,
    readiness_of_draft,
    split_steps,
    ticked_indicators_of,
)
from bot.services.replies import LongReply, Reply
from models import repository as repo
from models.readiness import DraftIndicator
from tests.helpers import buttons, register
from tests.proposal_samples import MANDATORY, add_draft, strong_iid_answers

ANDI, BUDI = 1001, 1002


@pytest.fixture(scope="module")
def iid(formats: FormatRegistry):
    return formats["iid"]


@pytest.fixture(scope="module")
def kipp(formats: FormatRegistry):
    return formats["kipp"]


def rule_keys(findings) -> set[str]:
    return {f.rule for f in findings}


# ---- the data files ------------------------------------------------------------------------------


def test_indicator_data_matches_the_iid_profile() -> None:
    indicators = load_indicators()
    assert len(indicators.indicators) == 20
    assert indicators.max_score == 111
    mandatory = {i.key for i in indicators.indicators if i.mandatory}
    assert mandatory == {"regulasi", "sdm", "kecepatan", "kemanfaatan", "video"}
    assert indicators.get("video").bobot == 4 and indicators.get("replikasi").bobot == 3
    assert all(len(i.levels) == 3 for i in indicators.indicators)


def test_rules_are_validated_when_loaded() -> None:
    assert load_rules().rules
    broken = {
        "rules": [{"key": "x", "check": "keyword_groups", "section": "metode", "message": "m"}],
        "indicators": load_rules().indicators.model_dump(),
    }
    with pytest.raises(ValidationError):
        RuleSet.model_validate(broken)


# ---- assess_readiness ----------------------------------------------------------------------------


def test_a_strong_complete_proposal_with_mandatory_evidence_is_ready(iid) -> None:
    readiness = assess_readiness(iid, strong_iid_answers(), MANDATORY)
    assert readiness.is_ready
    assert readiness.missing == () and readiness.weak == ()
    assert len(readiness.filled) == 19
    assert readiness.score == 3 * 2 + 2 * 1 + 2 * 2 + 3 * 3 + 4 * 2
    assert readiness.max_score == 111 and readiness.score_percent == round(100 * 29 / 111)
    # Still three steps: the most valuable evidence to add next, by weight.
    assert len(readiness.next_steps) == 3
    assert readiness.next_steps[0].key == "replikasi"
    weights = [s.weight for s in readiness.next_steps]
    assert weights == sorted(weights, reverse=True)


def test_missing_mandatory_evidence_keeps_a_complete_proposal_not_ready(iid) -> None:
    readiness = assess_readiness(iid, strong_iid_answers(), {})
    assert not readiness.is_ready
    assert {i.key for i in readiness.missing_mandatory} == set(MANDATORY)
    assert readiness.next_steps[0].key == "video"  # heaviest mandatory indicator first
    assert "indikator wajib" in readiness.next_steps[0].text


def test_rancang_bangun_under_300_words_is_blocking_and_says_how_many_are_missing(iid) -> None:
    answers = strong_iid_answers()
    answers["permasalahan"] = "Pada 2023 tercatat 41% ibu hamil risiko tinggi terlambat dirujuk."
    readiness = assess_readiness(iid, answers, MANDATORY)
    finding = next(f for f in readiness.weak if f.rule == "rancang_bangun_300")
    words = readiness.completeness.word_progress[0].words
    assert finding.blocking and not readiness.is_ready
    assert (
        finding.message == f"Rancang bangun baru {words} dari 300 kata (batas minimal Kemendagri)."
    )
    assert f"Tambahkan sekitar {300 - words} kata pada rancang bangun" in finding.step
    assert readiness.next_steps[0].key == "rancang_bangun_300"


def test_goal_without_a_number_is_not_measurable(iid) -> None:
    answers = strong_iid_answers()
    answers["tujuan"] = "Meningkatkan mutu layanan kesehatan ibu hamil di kecamatan."
    readiness = assess_readiness(iid, answers, MANDATORY)
    assert "tujuan_terukur" in rule_keys(readiness.weak)
    assert readiness.is_ready  # weak, but not blocking
    answers["tujuan"] = "Meningkatkan cakupan kunjungan ibu hamil menjadi seratus persen."
    assert "tujuan_terukur" not in rule_keys(assess_readiness(iid, answers, MANDATORY).weak)


def test_method_without_before_and_after_is_weak(iid) -> None:
    answers = strong_iid_answers()
    answers["metode"] = (
        "Kader melapor lewat formulir daring dan bidan menerima peringatan otomatis."
    )
    weak = assess_readiness(iid, answers, MANDATORY).weak
    finding = next(f for f in weak if f.rule == "sebelum_sesudah")
    assert "sebelum dan sesudah" in finding.message and finding.section_key == "metode"


def test_no_trial_date_has_its_own_message_instead_of_the_generic_one(iid) -> None:
    answers = strong_iid_answers()
    del answers["waktu_uji_coba"]
    readiness = assess_readiness(iid, answers, MANDATORY)
    messages = [f.message for f in readiness.missing]
    assert any("Waktu uji coba belum diisi" in m and "PP 38/2017" in m for m in messages)
    assert not any(m == "Bagian Waktu uji coba belum diisi." for m in messages)
    assert not readiness.is_ready
    assert readiness.next_steps[0].key == "waktu_uji_coba"


def test_empty_sections_are_missing_not_weak_and_an_empty_budget_is_advice(iid) -> None:
    answers = strong_iid_answers()
    del answers["tujuan"], answers["anggaran"]
    readiness = assess_readiness(iid, answers, MANDATORY)
    assert "tujuan_terukur" not in rule_keys(readiness.weak)
    assert {"bagian_wajib", "anggaran"} <= rule_keys(readiness.missing)
    budget = next(f for f in readiness.missing if f.rule == "anggaran")
    assert not budget.blocking  # anggaran is optional (PP 38/2017: "if needed")
    assert [s.key for s in readiness.missing_sections] == ["tujuan"]


def test_an_empty_draft_lists_every_required_section_as_missing(iid) -> None:
    readiness = assess_readiness(iid, {}, None)
    assert len(readiness.missing_sections) == 18
    assert readiness.filled == () and readiness.score == 0 and not readiness.is_ready
    assert len(readiness.next_steps) == 3


def test_ticked_indicators_as_levels_or_as_bare_keys(iid) -> None:
    answers = strong_iid_answers()
    assert assess_readiness(iid, answers, {"video": 3, "regulasi": 2}).score == 12 + 6
    assert assess_readiness(iid, answers, ["video", "regulasi"]).score == 4 + 3
    # Out-of-range levels are clamped; unknown keys are ignored.
    assert assess_readiness(iid, answers, {"video": 9, "nope": 3, "sdm": -1}).score == 12


def test_kipp_has_no_iid_checklist_and_its_own_rules(kipp) -> None:
    answers = {s.key: s.example for s in kipp.sections}
    readiness = assess_readiness(kipp, answers, {"video": 3})
    assert readiness.indicators == () and readiness.max_score == 0
    assert readiness.is_ready
    answers["signifikansi"] = "Dampaknya sangat besar bagi masyarakat desa."
    weak = assess_readiness(kipp, answers).weak
    assert rule_keys(weak) == {"kipp_signifikansi_angka"}


def test_rules_are_data_a_new_rule_changes_the_check(iid) -> None:
    base = load_rules()
    extra = {
        "key": "manfaat_panjang",
        "check": "min_words",
        "section": "manfaat",
        "minimum": 500,
        "weight": 99,
        "blocking": True,
        "message": "Manfaat baru {words} kata dari {minimum}.",
        "step": "Perpanjang {section}.",
    }
    rules = RuleSet.model_validate(
        {"rules": [*(r.model_dump() for r in base.rules), extra], "indicators": base.indicators}
    )
    readiness = assess_readiness(iid, strong_iid_answers(), MANDATORY, rules=rules)
    finding = next(f for f in readiness.weak if f.rule == "manfaat_panjang")
    assert finding.message.endswith("kata dari 500.") and finding.step == "Perpanjang Manfaat."
    assert not readiness.is_ready and readiness.next_steps[0].key == "manfaat_panjang"


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("1. Kader mengisi formulir. 2. Sistem menandai ibu. 3. Bidan berkunjung.", 3),
        ("Langkah:\n1) Kader mengisi\n2) Bidan memeriksa\n3) Dokter merujuk\n4) Dinas memantau", 4),
        ("- Kader mengisi formulir\n- Bidan berkunjung\n• Dokter memutuskan rujukan", 3),
        ("Berdasarkan PP 38/2017 di 12 posyandu, 2. hal ini berjalan.", 0),
        ("Kader mengisi formulir lalu bidan berkunjung.", 0),
    ],
)
def test_split_steps(text: str, steps: int) -> None:
    assert len(split_steps(text)) == steps


def test_split_steps_keeps_numbers_inside_a_step() -> None:
    text = (
        "1. Kader di 12 posyandu mengisi formulir (PP 38/2017). 2. Bidan berkunjung dalam 2 hari."
    )
    assert split_steps(text) == [
        "Kader di 12 posyandu mengisi formulir (PP 38/2017).",
        "Bidan berkunjung dalam 2 hari.",
    ]


# ---- the report and the checklist in the Dialog --------------------------------------------------


def _draft(dialog: Dialog, owner: int, answers: dict[str, str] | None = None) -> int:
    register(dialog, owner)
    return add_draft(dialog.ctx.db, owner, dialog.ctx.formats["iid"], answers or {})


def test_report_lists_missing_weak_score_and_three_steps(dialog: Dialog) -> None:
    answers = strong_iid_answers()
    answers["tujuan"] = "Meningkatkan mutu layanan."
    del answers["hasil"]
    draft_id = _draft(dialog, ANDI, answers)
    outcome = dialog.callback(ANDI, f"q:v:{draft_id}")
    assert outcome.notice == "readiness_checked"
    reply = outcome.replies[0]
    assert isinstance(reply, LongReply)
    heads = [c.head_template for c in reply.chunks]
    assert heads == [
        "ready/report_head",
        "ready/report_filled",
        "ready/report_missing",
        "ready/report_weak",
        "ready/report_indicators",
        "ready/report_steps",
    ]
    readiness = reply.chunks[0].head_context["r"]
    assert [s.key for s in readiness.missing_sections] == ["hasil"]
    assert "tujuan_terukur" in rule_keys(readiness.weak)
    assert {b.data for b in buttons(outcome)} == {f"q:c:{draft_id}", f"d:o:{draft_id}"}


def test_ticking_evidence_levels_through_the_checklist(dialog: Dialog) -> None:
    draft_id = _draft(dialog, ANDI)
    checklist = dialog.callback(ANDI, f"q:c:{draft_id}")
    reply = checklist.replies[0]
    assert isinstance(reply, Reply) and reply.template == "ready/checklist" and reply.edit
    indicator_buttons = [b for b in buttons(checklist) if b.data.startswith("q:i:")]
    assert len(indicator_buttons) == 20
    assert indicator_buttons[0].params["star"] == "*"  # regulasi is mandatory
    detail = dialog.callback(ANDI, f"q:i:{draft_id}:19")
    assert detail.replies[0].context["indicator"].key == "video"
    assert [b.data for b in buttons(detail)][:3] == [f"q:s:{draft_id}:19:{n}" for n in (1, 2, 3)]
    saved = dialog.callback(ANDI, f"q:s:{draft_id}:19:3")
    assert saved.notice == "saved" and saved.replies[0].template == "ready/checklist"
    dialog.callback(ANDI, f"q:s:{draft_id}:0:2")
    dialog.callback(ANDI, f"q:s:{draft_id}:0:1")  # changing a level replaces it
    with dialog.ctx.db.session() as session:
        assert ticked_indicators_of(session, draft_id) == {"video": 3, "regulasi": 1}
        readiness = readiness_of_draft(session, dialog.ctx.formats["iid"], draft_id)
        assert readiness.score == 12 + 3
    dialog.callback(ANDI, f"q:s:{draft_id}:19:0")  # "Belum ada bukti" removes it
    with dialog.ctx.db.session() as session:
        assert ticked_indicators_of(session, draft_id) == {"regulasi": 1}


def test_kipp_draft_has_no_checklist(dialog: Dialog) -> None:
    register(dialog, ANDI)
    draft_id = add_draft(dialog.ctx.db, ANDI, dialog.ctx.formats["kipp"], {"nama": "SIPANDU"})
    outcome = dialog.callback(ANDI, f"q:c:{draft_id}")
    assert outcome.replies[0].template == "ready/checklist_not_applicable"
    report = dialog.callback(ANDI, f"q:v:{draft_id}").replies[0]
    assert "ready/report_indicators" not in [c.head_template for c in report.chunks]
    assert {b.data for b in buttons(dialog.callback(ANDI, f"q:v:{draft_id}"))} == {
        f"d:o:{draft_id}"
    }


@pytest.mark.parametrize("data", ["q:v:{id}", "q:c:{id}", "q:i:{id}:0", "q:s:{id}:0:3"])
def test_someone_elses_draft_is_not_found_and_nothing_changes(dialog: Dialog, data: str) -> None:
    draft_id = _draft(dialog, ANDI)
    register(dialog, BUDI, name="Budi Santoso")
    outcome = dialog.callback(BUDI, data.format(id=draft_id))
    assert outcome.notice == "draft_not_found"
    assert [r.template for r in outcome.replies] == ["draft/not_found"]
    with dialog.ctx.db.session() as session:
        assert ticked_indicators_of(session, draft_id) == {}


@pytest.mark.parametrize(
    "data", ["q:i:{id}:20", "q:i:{id}:-1", "q:s:{id}:3:4", "q:s:{id}:99:1", "q:zz:{id}", "q:v:x"]
)
def test_forged_checklist_data_changes_nothing(dialog: Dialog, data: str) -> None:
    draft_id = _draft(dialog, ANDI)
    outcome = dialog.callback(ANDI, data.format(id=draft_id))
    assert outcome.notice == "stale_button" and outcome.notice_alert
    with dialog.ctx.db.session() as session:
        assert session.exec(select(DraftIndicator)).all() == []


def test_deleting_a_draft_removes_its_evidence(dialog: Dialog) -> None:
    draft_id = _draft(dialog, ANDI)
    dialog.callback(ANDI, f"q:s:{draft_id}:19:2")
    dialog.callback(ANDI, f"d:xx:{draft_id}")
    with dialog.ctx.db.session() as session:
        assert repo.drafts_of(session, ANDI) == []
        assert session.exec(select(DraftIndicator)).all() == []
