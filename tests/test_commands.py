"""Commands are declared once, by their features: the menu per role and /bantuan follow."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import yaml

from bot.paths import TEMPLATES_DIR
from bot.rendering import Renderer
from bot.services.dialog import Dialog
from tests.conftest import ADMIN_ID
from tests.helpers import register

USER = 5001


def command_texts() -> dict[str, dict[str, str]]:
    labels = yaml.safe_load((TEMPLATES_DIR / "labels.yaml").read_text(encoding="utf-8"))
    return labels["commands"]


def test_every_listed_command_has_its_menu_and_help_text_and_no_text_is_orphaned(
    dialog: Dialog,
) -> None:
    texts = command_texts()
    assert set(texts) == set(dialog.listed_commands())
    assert all(text["menu"] and text["help"] for text in texts.values())
    assert dialog.menu_role("antrian") is None  # declared unlisted: the alias of /antrean
    assert "antrian" in dialog.commands


def test_each_command_is_in_the_menu_of_the_role_its_feature_declares(dialog: Dialog) -> None:
    roles = dialog.listed_commands()
    assert roles["ide"] == roles["start"] == roles["bantuan"] == "asn"
    assert roles["antrean"] == "mentor"
    assert {name for name, role in roles.items() if role == "admin"} == {
        "opd",
        "lomba",
        "statistik",
        "ekspor",
        "siaran",
        "undang_mentor",
        "mentor",
    }


def test_help_shows_the_commands_of_the_roles_held(dialog: Dialog) -> None:
    register(dialog, USER)
    register(dialog, ADMIN_ID)
    asn_help = dialog.command(USER, "bantuan").replies[0].context
    assert asn_help["roles"] == ["asn"]
    admin_help = dialog.command(ADMIN_ID, "bantuan").replies[0].context
    assert admin_help["roles"] == ["asn", "admin"]
    renderer = Renderer(ZoneInfo("Asia/Makassar"))
    for_asn = renderer.text("common/help", asn_help)
    for_admin = renderer.text("common/help", admin_help)
    assert "/ide — mulai usulan inovasi baru" in for_asn and "/bantuan — panduan ini" in for_asn
    assert "/opd" not in for_asn and "Perintah admin" not in for_asn
    assert "/antrean" not in for_asn and "/antrian" not in for_admin
    assert "<b>Perintah admin</b>\n/opd — kelola daftar OPD" in for_admin
