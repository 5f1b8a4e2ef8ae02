"""Our own writes: whole while a listing may still lag them, then only their etag."""

from __future__ import annotations

from typing import Any

from reconciler.controller.polling import echoes_our_write
from reconciler.controller.written import OwnWrites


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def answer(etag: str, update_time: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    return {
        "resourceName": "people/c1",
        "etag": etag,
        "names": [{"givenName": "Ann"}],
        "metadata": {"sources": [{"type": "CONTACT", "updateTime": update_time}]},
    }


def test_a_write_is_kept_whole_while_young_then_only_by_its_etag() -> None:
    """Within ``hold`` the engine sees the whole answer; after it, only the etag remains."""
    clock = Clock()
    written = OwnWrites(hold=120, clock=clock)
    written["people/c1"] = answer("e1")
    written.compact()
    clock.now = 119
    written.compact()
    assert written["people/c1"]["names"] == [{"givenName": "Ann"}]
    clock.now = 121
    written.compact()
    assert dict(written) == {}
    assert written.etags == {"people/c1": "e1"}
    assert written.etag("people/c1") == "e1"


def test_a_new_write_of_the_same_contact_starts_a_new_hold() -> None:
    """A fresh answer replaces the compact etag and is kept whole for its own hold."""
    clock = Clock()
    written = OwnWrites(hold=120, clock=clock)
    written["people/c1"] = answer("e1")
    written.compact()
    clock.now = 121
    written.compact()
    written["people/c1"] = answer("e2")
    written.compact()
    assert written.etags == {}
    clock.now = 200
    written.compact()
    assert written["people/c1"]["etag"] == "e2"
    assert written.etag("people/c1") == "e2"


def test_the_echo_of_an_old_write_is_still_ours_and_anything_else_retires_it() -> None:
    """A poll that returns our compacted etag is our own echo; another etag is someone else's
    newer edit, and our etag is forgotten so no pass sends it again."""
    clock = Clock()
    written = OwnWrites(hold=1, clock=clock)
    written["people/c1"] = answer("e1")
    written.compact()
    clock.now = 2
    written.compact()
    assert echoes_our_write(written, answer("e1"))
    assert not echoes_our_write(written, answer("e9", "2026-01-02T00:00:00Z"))
    assert written.etag("people/c1") is None


def test_a_lagging_listing_does_not_retire_a_young_write() -> None:
    """An older version listed while our write is young leaves our whole answer in place."""
    written = OwnWrites(hold=120, clock=Clock())
    written["people/c1"] = answer("e2", "2026-01-02T00:00:00Z")
    assert not echoes_our_write(written, answer("e1", "2026-01-01T00:00:00Z"))
    assert written["people/c1"]["etag"] == "e2"
