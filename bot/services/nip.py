"""NIP (Nomor Induk Pegawai): 18 digits, typed with or without spaces, stored without.

Its parts (Peraturan BKN): date of birth (8 digits, YYYYMMDD), year and month of appointment
(6), gender (1: laki-laki, 2: perempuan), serial number (3). Checking the parts catches most
typing slips (a digit too many or too few, a swapped date) with a precise explanation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

NIP_LENGTH = 18
Problem = Literal["not_digits", "length", "birth_date", "appointment", "gender"]


@dataclass(frozen=True)
class NipCheck:
    nip: str | None  # the digits, when valid
    problem: Problem | None = None
    digits: int = 0  # how many digits were typed


def check_nip(text: str) -> NipCheck:
    """The NIP in `text` (spaces allowed between digit groups), or what is wrong with it."""
    typed = re.sub(r"\s+", "", text)
    if typed.upper().startswith("NIP"):
        typed = typed[3:].lstrip(".:")
    if not typed.isdigit() or not typed.isascii():
        return NipCheck(None, "not_digits")
    if len(typed) != NIP_LENGTH:
        return NipCheck(None, "length", len(typed))
    try:
        date(int(typed[0:4]), int(typed[4:6]), int(typed[6:8]))
    except ValueError:
        return NipCheck(None, "birth_date", NIP_LENGTH)
    if not 1 <= int(typed[12:14]) <= 12:
        return NipCheck(None, "appointment", NIP_LENGTH)
    if typed[14] not in "12":
        return NipCheck(None, "gender", NIP_LENGTH)
    return NipCheck(typed)


def format_nip(nip: str) -> str:
    """The way a NIP is printed: "19800101 200501 1 001"."""
    if len(nip) != NIP_LENGTH:
        return nip
    return f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}"
