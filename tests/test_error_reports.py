"""Reporting an error kind to the admins once per interval, across processes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from bot.services.dialog import Dialog
from bot.services.features import build_dialog
from tests.conftest import Clock

TEN_MINUTES = timedelta(minutes=10)


def test_a_kind_is_reported_once_per_interval_by_all_processes(
    dialog: Dialog, clock: Clock
) -> None:
    other_process = build_dialog(dialog.ctx)  # same database, its own objects
    kind = "OperationalError@repository.py:58"
    assert dialog.claim_error_report(kind, TEN_MINUTES)
    assert not dialog.claim_error_report(kind, TEN_MINUTES)
    assert not other_process.claim_error_report(kind, TEN_MINUTES)
    assert other_process.claim_error_report("KeyError@drafting.py:12", TEN_MINUTES)
    clock.advance(minutes=9)
    assert not other_process.claim_error_report(kind, TEN_MINUTES)
    clock.advance(minutes=2)
    assert other_process.claim_error_report(kind, TEN_MINUTES)
    assert not dialog.claim_error_report(kind, TEN_MINUTES)


def test_two_processes_meeting_a_new_kind_at_once_report_it_once(dialog: Dialog) -> None:
    processes = [build_dialog(dialog.ctx) for _ in range(4)]
    start = threading.Barrier(len(processes))

    def claim(process: Dialog) -> bool:
        start.wait()
        return process.claim_error_report("ValueError@readiness.py:40", TEN_MINUTES)

    with ThreadPoolExecutor(len(processes)) as pool:
        results = list(pool.map(claim, processes))
    assert sorted(results) == [False, False, False, True]
