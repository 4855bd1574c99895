"""The author's NIP (registration, /profil) and the OPD head (/opd): both printed on the
proposal's approval page."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlmodel import select

from bot.services.dialog import Dialog
from bot.services.nip import check_nip, format_nip
from bot.services.replies import DocumentReply
from models.tables import Opd, User
from tests.conftest import ADMIN_ID
from tests.helpers import buttons, last_reply, register, templates
from tests.proposal_samples import add_draft, strong_iid_answers

ANDI = 1001
NIP = "198001012005011001"


def nip_of(dialog: Dialog, user_id: int) -> str | None:
    with dialog.ctx.db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.nip


def register_until_nip(dialog: Dialog, user_id: int) -> None:
    dialog.command(user_id, "start")
    dialog.callback(user_id, "r:ok")
    dialog.text(user_id, "Andi Pratiwi")
    found = dialog.text(user_id, "kesehatan")
    done = dialog.callback(user_id, buttons(found)[0].data)
    assert templates(done)[-2:] == ["register/welcome", "register/ask_nip"]


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("19800101 200501 1 00", "length"),
        ("1980010120050110011", "length"),
        ("19800101-200501-1-001", "not_digits"),
        ("NIP saya belum ada", "not_digits"),
        ("19801301 200501 1 001", "birth_date"),
        ("19800101 200513 1 001", "appointment"),
        ("19800101 200501 3 001", "gender"),
    ],
)
def test_a_wrong_nip_says_what_is_wrong(typed: str, problem: str) -> None:
    assert check_nip(typed).nip is None and check_nip(typed).problem == problem


def test_a_nip_is_typed_with_spaces_and_kept_as_digits() -> None:
    assert check_nip(" 19800101 200501 1 001 ").nip == NIP
    assert check_nip("NIP. 198001012005011001").nip == NIP
    assert format_nip(NIP) == "19800101 200501 1 001"


def test_registration_asks_the_nip_and_a_wrong_one_changes_nothing(dialog: Dialog) -> None:
    register_until_nip(dialog, ANDI)
    wrong = dialog.text(ANDI, "19800101 20050 1 001")
    assert templates(wrong) == ["register/nip_invalid"]
    assert last_reply(wrong).context["digits"] == 17
    assert [b.data for b in buttons(wrong)] == ["r:s"]  # still skippable
    assert nip_of(dialog, ANDI) is None
    saved = dialog.text(ANDI, "19800101 200501 1 001")
    assert templates(saved) == ["register/nip_saved", "menu/main"]
    assert nip_of(dialog, ANDI) == NIP
    assert dialog.callback(ANDI, "r:s").notice == "stale_button"  # the step is over


def test_cancelling_at_the_nip_step_skips_it(dialog: Dialog) -> None:
    register_until_nip(dialog, ANDI)
    assert templates(dialog.command(ANDI, "batal")) == ["register/nip_skipped", "menu/main"]
    assert templates(dialog.command(ANDI, "start")) == ["menu/main"]
    assert nip_of(dialog, ANDI) is None


def test_registration_nip_can_be_skipped_and_filled_later_in_the_profile(
    dialog: Dialog,
) -> None:
    register(dialog, ANDI)  # skips the NIP
    assert nip_of(dialog, ANDI) is None
    profile = dialog.command(ANDI, "profil")
    assert last_reply(profile).context["nip"] == ""
    assert "p:i" in [b.data for b in buttons(profile)]
    asked = dialog.callback(ANDI, "p:i")
    assert templates(asked) == ["register/ask_nip"] and buttons(asked) == []
    assert templates(dialog.text(ANDI, "12345")) == ["register/nip_invalid"]
    assert templates(dialog.text(ANDI, NIP)) == ["register/nip_saved", "register/profile_updated"]
    assert nip_of(dialog, ANDI) == NIP
    assert last_reply(dialog.command(ANDI, "profil")).context["nip"] == "19800101 200501 1 001"
    # Removing it: only from the profile's NIP step.
    assert dialog.callback(ANDI, "p:x").notice == "stale_button"
    assert nip_of(dialog, ANDI) == NIP
    assert [b.data for b in buttons(dialog.callback(ANDI, "p:i"))] == ["p:x"]
    assert dialog.callback(ANDI, "p:x").notice == "saved"
    assert nip_of(dialog, ANDI) is None


def set_head(dialog: Dialog, text: str, opd: str = "Dinas Kesehatan") -> list[str]:
    register(dialog, ADMIN_ID, name="Admin Klinik")
    menu = dialog.command(ADMIN_ID, "opd")
    assert "o:h" in [b.data for b in buttons(menu)]
    dialog.callback(ADMIN_ID, "o:h")
    found = dialog.text(ADMIN_ID, opd)
    chosen = dialog.callback(ADMIN_ID, next(b.data for b in buttons(found) if b.text == opd))
    assert templates(chosen) == ["opd/ask_head"]
    return templates(dialog.text(ADMIN_ID, text))


def head_of(dialog: Dialog, name: str = "Dinas Kesehatan") -> tuple:
    with dialog.ctx.db.session() as session:
        opd = session.exec(select(Opd).where(Opd.name == name)).one()
        return opd.head_name, opd.head_nip, opd.head_position


def test_admin_sets_the_opd_head_printed_on_the_approval_page(dialog: Dialog) -> None:
    head = "dr. Hasnah Syam, M.Kes\n19750505 200312 2 002\nKepala Dinas Kesehatan Kabupaten"
    assert set_head(dialog, head) == ["opd/head_saved"]
    assert head_of(dialog) == (
        "dr. Hasnah Syam, M.Kes",
        "197505052003122002",
        "Kepala Dinas Kesehatan Kabupaten",
    )
    register(dialog, ANDI)
    dialog.callback(ANDI, "p:i")
    dialog.text(ANDI, NIP)
    draft_id = add_draft(dialog.ctx.db, ANDI, dialog.ctx.formats["iid"], strong_iid_answers())
    reply = dialog.callback(ANDI, f"u:p:{draft_id}").replies[0]
    assert isinstance(reply, DocumentReply)
    approval = PdfReader(io.BytesIO(reply.content)).pages[1].extract_text()
    assert "LEMBAR PENGESAHAN" in approval
    assert "dr. Hasnah Syam, M.Kes" in approval and "NIP. 19750505 200312 2 002" in approval
    assert "Kepala Dinas Kesehatan Kabupaten" in approval
    assert "NIP. 19800101 200501 1 001" in approval  # the author's
    assert "Uji, 23 November 2026" in approval  # REGION_NAME "Kabupaten Uji", local date


def test_opd_head_with_unknown_nip_and_bad_input_changes_nothing(dialog: Dialog) -> None:
    assert set_head(dialog, "dr. Hasnah Syam") == ["opd/head_invalid"]  # one line only
    assert head_of(dialog) == (None, None, None)
    assert templates(dialog.text(ADMIN_ID, "dr. Hasnah Syam\n1975")) == ["register/nip_invalid"]
    assert head_of(dialog) == (None, None, None)
    assert templates(dialog.text(ADMIN_ID, "dr. Hasnah Syam\n-")) == ["opd/head_saved"]
    assert head_of(dialog) == ("dr. Hasnah Syam", None, None)


def test_only_admins_set_the_opd_head_and_forged_buttons_are_stale(dialog: Dialog) -> None:
    register(dialog, ANDI)
    with dialog.ctx.db.session() as session:
        opd_id = session.exec(select(Opd).where(Opd.name == "Dinas Kesehatan")).one().id
    for data in ("o:h", f"o:k:{opd_id}", f"o:r:{opd_id}"):
        assert dialog.callback(ANDI, data).notice == "forbidden"
    register(dialog, ADMIN_ID, name="Admin Klinik")
    assert dialog.callback(ADMIN_ID, f"o:k:{opd_id}").notice == "stale_button"  # not searching
    assert dialog.callback(ADMIN_ID, f"o:r:{opd_id}").notice == "stale_button"
    assert head_of(dialog) == (None, None, None)
