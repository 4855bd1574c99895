"""Typed routes (bot/services/routes.py) and the Dialog's role guard declared on features."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from sqlmodel import select

from bot.services.dialog import Dialog
from bot.services.opd_admin import DeactivateOpd
from bot.services.routes import BigInt, MaxLen, Route, StaleRoute, unpack
from models.tables import Opd
from tests.conftest import ADMIN_ID
from tests.helpers import register


class Sample(Route, prefix="zz:s"):
    item: int
    person: BigInt
    mode: Literal["on", "off"]
    word: Annotated[str, MaxLen(8)] = ""
    flag: bool = False


def test_a_route_packs_and_unpacks_with_its_types() -> None:
    value = Sample(7, 2**40, "on", "kata", True)
    assert value.pack() == "zz:s:7:1099511627776:on:kata:1"
    assert Sample.unpack(value.pack()) == value
    assert unpack(value.pack()) == value


def test_defaults_may_be_left_out_of_the_data() -> None:
    assert Sample.unpack("zz:s:1:2:off") == Sample(1, 2, "off", "", False)


@pytest.mark.parametrize(
    "data",
    [
        "zz:s",  # truncated
        "zz:s:1:2",  # a required field missing
        "zz:s:x:2:on",  # not a number
        "zz:s: 1:2:on",  # int() would take it, a packed int never looks so
        "zz:s:1:2:maybe",  # not one of the choices
        "zz:s:1:2:on:waytoolongword",  # longer than MaxLen
        "zz:s:1:2:on:w:2",  # a bool is 0 or 1
        "zz:s:1:2:on:w:1:extra",  # more parts than fields
        "zz:s:2147483648:2:on",  # past a database id's range
        "zz:s:1:9223372036854775808:on",  # past a Telegram id's range
        "zz:unknown:1",
    ],
)
def test_forged_truncated_or_overflowing_data_is_stale(data: str) -> None:
    with pytest.raises(StaleRoute):
        Sample.unpack(data)


def test_packing_refuses_values_the_field_cannot_hold() -> None:
    with pytest.raises(ValueError):
        Sample(2**31, 1, "on").pack()
    with pytest.raises(ValueError):
        Sample(1, 1, "on", "a:b").pack()


def test_a_route_too_wide_for_64_bytes_fails_when_declared() -> None:
    with pytest.raises(TypeError, match="64"):

        class TooWide(Route, prefix="zz:w"):
            text: Annotated[str, MaxLen(60)]


def test_a_prefix_declared_twice_fails_when_declared() -> None:
    with pytest.raises(TypeError, match="twice"):

        class Again(Route, prefix="zz:s"):
            item: int


def test_a_non_admin_pressing_an_admin_route_is_refused_and_nothing_changes(
    dialog: Dialog,
) -> None:
    user = 4242
    register(dialog, user)
    with dialog.ctx.db.session() as session:
        opd = session.exec(Opd.__table__.select().limit(1)).first()
    outcome = dialog.callback(user, DeactivateOpd(opd.id).pack())
    assert outcome.notice == "forbidden"
    with dialog.ctx.db.session() as session:
        assert session.get(Opd, opd.id).active
    typed = dialog.command(user, "opd")
    assert typed.replies[0].template == "common/forbidden"


def test_an_unregistered_user_is_asked_to_register_first(dialog: Dialog) -> None:
    assert dialog.command(5151, "opd").replies[0].template == "common/register_first"
    pressed = dialog.callback(5151, DeactivateOpd(1).pack())
    assert pressed.notice == "register_first"


def test_an_admin_may_use_the_admin_route(dialog: Dialog) -> None:
    register(dialog, ADMIN_ID)
    assert dialog.command(ADMIN_ID, "opd").replies[0].template != "common/forbidden"


def test_an_admin_removed_from_the_config_is_let_out_of_an_admin_flow(dialog: Dialog) -> None:
    from bot.services.opd_admin import OPD_ADMIN
    from bot.services.roles import Role
    from models import repository as repo

    register(dialog, ADMIN_ID)
    with dialog.ctx.db.session() as session:
        repo.set_flow(repo.get_state(session, ADMIN_ID), OPD_ADMIN, step="name")
    dialog.role_checks[Role.ADMIN] = lambda session, user_id: False  # removed meanwhile
    outcome = dialog.text(ADMIN_ID, "Dinas Baru")
    assert outcome.replies[0].template == "common/forbidden"
    with dialog.ctx.db.session() as session:
        assert repo.get_state(session, ADMIN_ID).flow == repo.IDLE
        assert session.exec(select(Opd).where(Opd.name == "Dinas Baru")).first() is None
