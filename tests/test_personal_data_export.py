"""`/dataku` in words a civil servant reads: Indonesian sections and fields, local times, and
still everything stored about the user."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlmodel import SQLModel

from bot.rendering import Renderer
from bot.services.data_export import labels, readable_export
from bot.services.dialog import Dialog
from bot.services.personal_data import collect, draft_tables, referencing_columns, user_tables
from bot.services.replies import DocumentReply
from tests.conftest import WITA
from tests.test_personal_data import ANDI, seed_user_with_everything


def test_every_table_holding_a_users_data_has_indonesian_labels() -> None:
    """A new table holding user data needs its section and fields named in
    templates/data/personal_data.yaml (it is exported under its technical name until then)."""
    sections = labels()["sections"]
    tables = {t.name: t for t, _ in [*user_tables(), *draft_tables(), *referencing_columns()]}
    tables["users"] = SQLModel.metadata.tables["users"]
    for name, table in tables.items():
        assert name in sections, f"{name}: no section in personal_data.yaml"
        missing = {c.name for c in table.columns} - set(sections[name]["columns"])
        assert not missing, f"{name}: no label for {sorted(missing)}"


def test_the_export_names_sections_and_fields_in_indonesian_and_keeps_everything(
    dialog: Dialog, clock
) -> None:
    seed_user_with_everything(dialog, clock)
    document = dialog.command(ANDI, "dataku").replies[0]
    assert isinstance(document, DocumentReply)
    data = json.loads(document.content)
    assert (
        "users" not in data
        and "answers" not in data
        and "draft_id" not in document.content.decode()
    )
    profile = data["Profil"][0]
    assert profile["Nama lengkap"] == "Andi Pratiwi" and profile["Dapat dihubungi bot"] == "ya"
    assert profile["Waktu persetujuan pemrosesan data"] == "23 November 2026 pukul 10.00 WITA"
    # Codes are shown as what they stand for: the office, the format, the section.
    assert profile["OPD"] == "Dinas Kesehatan"
    assert data["Draf usulan"][0]["Format proposal"] == "Profil Inovasi Daerah (IID / IGA)"
    assert data["Jawaban pada draf"][0]["Bagian"] == "Nama inovasi"
    assert data["Lomba yang diikuti"][0]["Lomba"] == "IGA (2026)"
    # Complete: as many records as the tables hold, section by section.
    with dialog.ctx.db.session() as session:
        raw = collect(session, ANDI)
    counts = {title: len(rows) for title, rows in data.items() if isinstance(rows, list)}
    sections = labels()["sections"]
    assert counts == {sections[name]["title"]: len(rows) for name, rows in raw.items() if rows}
    # The message names the sections too, never a table.
    caption = Renderer(WITA).text(document.caption_template, document.caption_context)
    assert "Draf usulan" in caption and "Jawaban pada draf" in caption
    assert "conversation_states" not in caption and "users" not in caption


def test_a_table_without_labels_is_still_exported() -> None:
    data = {"users": [{"id": 1}], "new_feature_rows": [{"user_id": 1, "x": True}]}
    export, sections = readable_export(data, WITA, datetime(2026, 11, 23, tzinfo=UTC))
    assert export["new_feature_rows"] == [{"user_id": 1, "x": "ya"}]
    assert [s.title for s in sections] == ["Profil", "new_feature_rows"]
