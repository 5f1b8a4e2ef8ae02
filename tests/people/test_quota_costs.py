"""One table of what each call costs, which the client and the emulator both read."""

from __future__ import annotations

import re

import pytest

from reconciler.emulator import create_app
from reconciler.emulator.routing import METHODS
from reconciler.model.quotas import (
    COSTS,
    CRITICAL_READS,
    CRITICAL_WRITES,
    GROUP_WRITES,
    MinuteWindow,
    cost_of,
    total_cost,
)
from reconciler.people.multipart import InnerRequest


def test_every_method_the_emulator_serves_has_a_cost_and_the_client_names_it_alike() -> None:
    """Each People API route of the emulator is charged from the table, and the client names
    the same call (sent inside a /batch) by the same method."""
    create_app()  # every route registered
    served = {m for m in METHODS.values() if not m.method_id.startswith("admin.")}
    assert len(served) > 15
    for method in served:
        name = method.method_id.removeprefix("people.")
        assert name in COSTS, name
        path = re.sub(r"\{[^}]+\}", "x1", method.path)
        assert InnerRequest(method.http_method, path).api_method() == name, method


def test_the_published_costs() -> None:
    """Google's stated costs: a batch create or update 6 critical reads and 6 critical writes,
    a single one 1 of each, a delete 1 and a batch delete 10 deletes-and-group-writes; a
    multipart /batch costs its inner calls together."""
    assert cost_of("people.batchCreateContacts") == {CRITICAL_READS: 6, CRITICAL_WRITES: 6}
    assert cost_of("people.updateContact") == {CRITICAL_READS: 1, CRITICAL_WRITES: 1}
    assert cost_of("people.batchDeleteContacts") == {GROUP_WRITES: 10}
    assert cost_of("contactGroups.create") == {GROUP_WRITES: 1}
    inner = ["people.updateContact"] * 3 + ["contactGroups.delete"]
    assert total_cost(inner) == {CRITICAL_READS: 3, CRITICAL_WRITES: 3, GROUP_WRITES: 1}
    with pytest.raises(KeyError, match="add it to COSTS"):
        cost_of("people.unknownMethod")


def test_a_minute_window_frees_room_as_its_oldest_charges_turn_sixty() -> None:
    """Charges leave the window exactly 60 s after they were made, and ``room_at`` is the
    first moment the asked units fit."""
    window = MinuteWindow()
    window.charge(0.0, 6)
    window.charge(10.0, 6)
    assert window.used(59.9) == 12
    assert window.room_at(20.0, 6, 12) == 60.0
    assert window.room_at(20.0, 12, 12) == 70.0
    assert window.room_at(20.0, 1, 13) == 20.0
    assert window.used(60.0) == 6
    assert window.used(70.0) == 0


def test_a_held_charge_counts_until_a_minute_after_its_answer() -> None:
    """A sender's charge counts at every moment until its call is answered, however long that
    takes (the server counts the call when it arrives, no later than the answer), then for a
    minute from the answer; while it is held, room is no nearer than a minute away."""
    window = MinuteWindow()
    window.charge(0.0, 6)
    held = window.hold(1.0, 6)
    assert window.used(75.0) == 6  # the charge made at 0 left; the held one did not
    assert window.room_at(75.0, 6, 6) == 135.0
    window.answered(held, 80.0)
    assert window.room_at(80.0, 6, 6) == 140.0
    assert window.used(139.9) == 6
    assert window.used(140.0) == 0
    window.answered(held, 150.0)  # answered once: a second word changes nothing
    assert window.used(150.0) == 0
