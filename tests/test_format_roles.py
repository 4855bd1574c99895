"""Section roles in the format YAML: declared once, validated, looked up by role."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from bot.services.consultations.mentors import expertise_options
from bot.services.formats import FormatRegistry, ProposalFormat, load_data_list
from bot.services.language import draft_name
from bot.services.statistics import NO_STAGE, DraftFact, stage_names
from models.tables import Draft


def section(key: str, **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "title": key.title(),
        "kind": "text",
        "question": "?",
        "tip": "",
        "example": "",
        **extra,
    }


def regional(*sections: dict[str, Any]) -> ProposalFormat:
    return ProposalFormat.model_validate(
        {
            "key": "daerah",
            "title": "Format daerah",
            "short_title": "Daerah",
            "description": "Format sebuah daerah.",
            "sections": list(sections),
        }
    )


def test_shipped_formats_declare_their_roles(formats: FormatRegistry) -> None:
    iid, kipp = formats["iid"], formats["kipp"]
    assert {r: iid.by_role(r).key for r in ("title", "stage", "form", "affairs")} == {
        "title": "nama",
        "stage": "tahapan",
        "form": "bentuk",
        "affairs": "urusan",
    }
    assert kipp.by_role("title").key == "nama"
    assert kipp.by_role("stage") is None and kipp.by_role("form") is None


def test_a_role_declared_twice_is_rejected() -> None:
    with pytest.raises(ValidationError, match="role declared twice"):
        regional(section("judul", role="title"), section("nama", role="title"))


def test_an_unknown_role_is_rejected() -> None:
    with pytest.raises(ValidationError):
        regional(section("judul", role="budget"))


def test_answer_for_a_role() -> None:
    fmt = regional(section("judul", role="title"), section("isi"))
    assert fmt.answer_for("title", {"judul": "SiKoper"}) == "SiKoper"
    assert fmt.answer_for("title", {"judul": ""}) is None
    assert fmt.answer_for("stage", {"judul": "SiKoper"}) is None


def test_a_format_without_the_stage_role_works() -> None:
    fmt = regional(section("judul", role="title"), section("tahapan"))
    fact = DraftFact(
        draft=Draft(id=7, owner_id=1, format_key="daerah"),
        fmt=fmt,
        answers={"judul": "SiKoper", "tahapan": "Uji coba"},
        readiness=None,  # type: ignore[arg-type]
        owner=None,
        opd=None,
    )
    assert fact.stage == NO_STAGE
    assert fact.title == "SiKoper"
    ctx = SimpleNamespace(formats=SimpleNamespace(default=fmt))
    assert stage_names(ctx) == [NO_STAGE]  # type: ignore[arg-type]
    assert expertise_options(ctx) == load_data_list("urusan")  # type: ignore[arg-type]


def test_draft_name_follows_the_title_role() -> None:
    fmt = regional(section("judul", role="title"), section("nama"))
    assert draft_name(None, {"judul": "SiKoper", "nama": "lain"}, 7, fmt=fmt) == "SiKoper"
    assert draft_name(None, {"nama": "lain"}, 7, fmt=fmt) == "Draf #7"
    assert draft_name("Judul", {"judul": "SiKoper"}, 7, fmt=fmt) == "Judul"
