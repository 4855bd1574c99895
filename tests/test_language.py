"""Good Indonesian in every text: one full stop after a name ending in an academic title, no
doubled words around competition names, the standard spelling "antrean" (KBBI)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import yaml

from bot.paths import TEMPLATES_DIR
from bot.rendering import Renderer
from bot.services.textutil import mark_after, with_mark, with_year, word_before, year_note
from tests.conftest import WITA

TITLED = [
    "dr. Rahmawati Said, M.Kes.",
    "Dr. Syamsul Alam, S.KM., M.Kes.",
    "Ir. Hasanuddin, M.T.",
    "Andi Pratiwi, S.E., M.Si.",
]
DOUBLED_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")  # ".." but not an ellipsis "..."
WHEN = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "mark", "expected"),
    [
        ("dr. Rahmawati Said, M.Kes.", ".", "dr. Rahmawati Said, M.Kes."),
        ("dr. Rahmawati Said, M.Kes.", ",", "dr. Rahmawati Said, M.Kes.,"),
        ("dr. Rahmawati Said, M.Kes.", "!", "dr. Rahmawati Said, M.Kes.!"),
        ("Andi Pratiwi", ".", "Andi Pratiwi."),
        ("Andi Pratiwi", ":", "Andi Pratiwi:"),
    ],
)
def test_a_mark_after_a_name_never_doubles_its_full_stop(
    text: str, mark: str, expected: str
) -> None:
    assert with_mark(text, mark) == expected
    assert text + mark_after(text, mark) == expected


def test_competition_names_do_not_repeat_their_word_or_year() -> None:
    assert word_before("Lomba", "Lomba Inovasi Daerah 2027") == ""
    assert word_before("lomba", "LOMBA Inovasi") == ""
    assert word_before("Lomba", "Innovative Government Award") == "Lomba "
    assert word_before("Lomba", "Lombanya") == "Lomba "
    assert with_year("Lomba Inovasi Daerah 2027", 2027) == "Lomba Inovasi Daerah 2027"
    assert with_year("Lomba Inovasi Daerah", 2027) == "Lomba Inovasi Daerah (2027)"
    assert year_note("KIPP 20271", 2027) == " (2027)"


def _consultation() -> SimpleNamespace:
    return SimpleNamespace(
        id=7, topic="Kesehatan", status="assigned", question="Bagaimana?", preferred_times=None
    )


def _cases(name: str) -> list[tuple[str, dict]]:
    """Templates where a person's name is followed by a punctuation mark, with a context."""
    c = _consultation()
    proposal = SimpleNamespace(starts_at=WHEN, note=None)
    return [
        ("register/ask_opd", {"name": name}),
        ("register/welcome", {"name": name}),
        ("mentor/welcome", {"name": name}),
        ("consult/accepted", {"c": c, "asn": name, "opd": None}),
        ("consult/accepted", {"c": c, "asn": name, "opd": "Dinas Kesehatan"}),
        ("consult/admin_declined", {"c": c, "asn": name, "opd": None}),
        ("consult/accepted_asn", {"c": c, "mentor": name}),
        ("consult/mentor_changed", {"c": c, "mentor": name}),
        ("consult/cancelled_other", {"c": c, "by": "asn", "asn": name, "reason": "Tugas"}),
        ("consult/cancelled_other", {"c": c, "by": "mentor", "mentor": name, "reason": "Cuti"}),
        ("consult/chat_open", {"c": c, "other": name}),
        ("consult/closed", {"c": c, "asn": name}),
        ("consult/comment_saved", {"section": SimpleNamespace(title="Tujuan"), "asn": name}),
        ("consult/retime_sent", {"mentor": name}),
        ("consult/schedule_proposed", {"proposal": proposal, "asn": name}),
        ("consult/session_proposal", {"c": c, "proposal": proposal, "mentor": name}),
        ("consult/session_confirmed_mentor", {"c": c, "proposal": proposal, "asn": name}),
        (
            "consult/session_reminder",
            {"c": c, "minutes": 60, "session": SimpleNamespace(starts_at=WHEN, note=None)}
            | {"other": name},
        ),
    ]


@pytest.mark.parametrize("name", TITLED)
def test_no_template_doubles_the_full_stop_of_a_titled_name(name: str) -> None:
    renderer = Renderer(WITA)
    for template, context in _cases(name):
        text = renderer.text(template, context)
        assert name.rstrip(".") in text, template
        assert not DOUBLED_STOP.search(text), f"{template}: {text}"


def test_a_note_ending_in_a_full_stop_is_not_followed_by_another() -> None:
    renderer = Renderer(WITA)
    proposal = SimpleNamespace(starts_at=WHEN, note="di Ruang Klinik Bappeda.")
    c = _consultation()
    for template in ("consult/session_confirmed", "consult/session_proposal"):
        text = renderer.text(template, {"c": c, "proposal": proposal, "mentor": "Budi"})
        assert "di Ruang Klinik Bappeda." in text and not DOUBLED_STOP.search(text), text


def test_competition_messages_say_lomba_and_the_year_once() -> None:
    renderer = Renderer(WITA)
    named = SimpleNamespace(id=1, name="Lomba Inovasi Daerah 2027", year=2027)
    saved = renderer.text("lomba/saved", {"competition": named})
    assert "Lomba Lomba" not in saved and "Lomba Inovasi Daerah 2027" in saved
    plain = SimpleNamespace(id=2, name="Innovative Government Award", year=2027)
    assert "Lomba <b>Innovative Government Award</b>" in renderer.text(
        "lomba/saved", {"competition": plain}
    )
    deleting = renderer.text("lomba/delete_confirm", {"competition": named})
    assert "lomba Lomba" not in deleting and "Lomba Inovasi Daerah 2027" in deleting
    listed = renderer.text("tenggat/competitions", {"competitions": [named, plain], "followed": []})
    assert "2027 (2027)" not in listed and "Innovative Government Award (2027)" in listed


def test_the_standard_spelling_antrean_everywhere() -> None:
    """KBBI's "antrean", in every template and label; /antrian only as a hidden alias."""
    found = []
    for path in TEMPLATES_DIR.rglob("*"):
        if path.suffix in (".j2", ".yaml") and re.search("antrian", path.read_text(), re.I):
            found.append(path.name)
    assert found == []
    commands = yaml.safe_load((TEMPLATES_DIR / "labels.yaml").read_text())["commands"]
    assert "antrean" in commands and "antrian" not in commands


def test_the_consent_cites_the_law_by_its_full_name() -> None:
    consent = Renderer(WITA).text("register/consent", {})
    assert "UU Nomor 27 Tahun 2022 tentang Pelindungan Data Pribadi" in consent
    assert "ID Telegram" in consent and "id Telegram" not in consent


def test_users_are_addressed_as_bapak_ibu_never_anda() -> None:
    """The chat addresses an ASN as "Bapak/Ibu" (the terminal shell, for operators, may not)."""
    labels = yaml.safe_load((TEMPLATES_DIR / "labels.yaml").read_text())
    texts = [str(v) for part, group in labels.items() if part != "shell" for v in group.values()]
    texts += [p.read_text() for p in (TEMPLATES_DIR / "messages").rglob("*.j2")]
    assert [t for t in texts if re.search(r"\bAnda\b", t)] == []
