"""An account's live index: our writes whole while a listing may lag them, then only their
etag; the stamp's keys beside them, one record per contact."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

from reconciler.clock import ManualClock
from reconciler.controller.liveindex import LiveIndex
from tests.support.persons import stamped


def answer(etag: str, update_time: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    return {
        "resourceName": "people/c1",
        "etag": etag,
        "names": [{"givenName": "Ann"}],
        "metadata": {"sources": [{"type": "CONTACT", "updateTime": update_time}]},
    }


def test_a_write_is_kept_whole_while_young_then_only_by_its_etag() -> None:
    """Within ``hold`` the engine sees the whole answer; after it, only the etag remains."""
    clock = ManualClock(start=0.0)
    written = LiveIndex(hold=120, clock=clock)
    written["people/c1"] = answer("e1")
    written.compact()
    clock.time = 119
    written.compact()
    assert written["people/c1"]["names"] == [{"givenName": "Ann"}]
    clock.time = 121
    written.compact()
    assert dict(written) == {}
    assert written.etags == {"people/c1": "e1"}
    assert written.etag("people/c1") == "e1"


def test_a_new_write_of_the_same_contact_starts_a_new_hold() -> None:
    """A fresh answer replaces the compact etag and is kept whole for its own hold."""
    clock = ManualClock(start=0.0)
    written = LiveIndex(hold=120, clock=clock)
    written["people/c1"] = answer("e1")
    written.compact()
    clock.time = 121
    written.compact()
    written["people/c1"] = answer("e2")
    written.compact()
    assert written["people/c1"]["etag"] == "e2"  # whole again, for a hold of its own
    clock.time = 200
    written.compact()
    assert written["people/c1"]["etag"] == "e2"
    assert written.etag("people/c1") == "e2"


def test_the_echo_of_an_old_write_is_still_ours_and_anything_else_retires_it() -> None:
    """A poll that returns our compacted etag is our own echo; another etag is someone else's
    newer edit, and our etag is forgotten so no pass sends it again."""
    clock = ManualClock(start=0.0)
    written = LiveIndex(hold=1, clock=clock)
    written["people/c1"] = answer("e1")
    written.compact()
    clock.time = 2
    written.compact()
    assert written.echoes(answer("e1"))
    assert not written.echoes(answer("e9", "2026-01-02T00:00:00Z"))
    assert written.etag("people/c1") is None


def test_a_lagging_listing_does_not_retire_a_young_write() -> None:
    """An older version listed while our write is young leaves our whole answer in place."""
    written = LiveIndex(hold=120, clock=ManualClock(start=0.0))
    written["people/c1"] = answer("e2", "2026-01-02T00:00:00Z")
    assert not written.echoes(answer("e1", "2026-01-01T00:00:00Z"))
    assert written["people/c1"]["etag"] == "e2"


def test_a_young_answer_reads_back_whole_and_a_forgotten_write_keeps_the_key() -> None:
    """The engine reads back exactly what was written; forgetting the write (a conflict proved
    the server past it) leaves the contact's key for the poller."""
    index = LiveIndex(hold=120, clock=ManualClock(start=0.0))
    ours = {**answer("e1"), **stamped("ann", "me")}
    assert index.fold(ours, "me") == "ann"
    index["people/c1"] = ours
    assert dict(index) == {"people/c1": ours}
    del index["people/c1"]
    assert dict(index) == {}
    assert index.etag("people/c1") is None
    index["people/c1"] = answer("e2")
    assert len(index) == 1
    index.retire("people/c1")
    assert len(index) == 0
    assert index.etags == {}
    assert index.resource_names(["ann"]) == {"ann": "people/c1"}


def test_keys_follow_the_stamp_and_a_tombstone_forgets_the_contact() -> None:
    """A listed stamp indexes its key; a tombstone or a stamp removed returns the key it had."""
    index = LiveIndex()
    person = {"resourceName": "people/c1", **stamped("ann", "me")}
    assert index.fold(person, "me") == "ann"
    assert index.resource_names(["ann"]) == {"ann": "people/c1"}
    assert index.fold({**person, "clientData": []}, "me") == "ann"
    assert index.known == 0
    assert index.fold(person, "someone-else") is None
    index.fold(person, "me")
    assert index.fold({"resourceName": "people/c1", "metadata": {"deleted": True}}, "me") == "ann"
    assert index.resource_names(["ann"]) is None


def _packing_on_this_thread(calls: list[str]) -> Callable[..., None]:
    """A profile hook recording the ``zlib`` and JSON-encoding calls made on this thread."""

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event == "c_call" and getattr(arg, "__module__", None) == "zlib":
            calls.append(f"zlib.{arg.__name__}")
        elif event == "call" and frame.f_code.co_qualname in ("dumps", "JSONEncoder.encode"):
            calls.append(f"json.{frame.f_code.co_qualname}")

    return hook


async def test_answers_are_packed_in_the_planner_thread_not_on_the_loop() -> None:
    """Recording a pass's answers encodes and compresses nothing on the event loop (per
    contact, a ``json.dumps`` and a ``zlib`` call, which gives the GIL up: with the planner
    busy the loop waits to get it back); ``pack`` does both in the planner thread. Before and
    after, each reads back whole; a write recorded while the pack ran is kept as written, not
    replaced by the older answer."""
    written = LiveIndex()
    answers = {
        f"people/c{i}": answer(f"e{i}") | {"resourceName": f"people/c{i}"} for i in range(50)
    }
    calls: list[str] = []
    sys.setprofile(_packing_on_this_thread(calls))
    try:
        written.update(answers)
        assert written["people/c7"] == answers["people/c7"]
        assert calls == []  # recorded as they came, nothing packed on the loop
        packing = asyncio.ensure_future(written.pack())
        # One turn of the loop runs the pack's first step: it takes its snapshot and awaits
        # the planner, whose answer the loop delivers only at a later turn.
        await asyncio.sleep(0)
        written["people/c3"] = answer("newer") | {"resourceName": "people/c3"}
        await packing
    finally:
        sys.setprofile(None)
    assert calls == []
    assert {name: written[name] for name in answers if name != "people/c3"} == {
        name: a for name, a in answers.items() if name != "people/c3"
    }
    assert written["people/c3"]["etag"] == "newer"
