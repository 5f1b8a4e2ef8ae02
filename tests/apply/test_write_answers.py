"""Writes ask only for what is used of their answers, and the engine's copy of a written
contact still plans exactly like the server's own."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

from reconciler.apply.engine import converge
from reconciler.apply.executor import ItemResult
from reconciler.apply.gateway import WRITE_ANSWER_FIELDS, ClientGateway
from reconciler.apply.results import ApplyResult, Outcome
from reconciler.clock import ManualClock
from reconciler.controller.liveindex import LiveIndex
from reconciler.model import DesiredState
from tests.support.manifests import book
from tests.support.world import Hook, World

ALWAYS = {"resourceName", "etag"}  # every person the API answers carries these


class AnswerRecorder(ClientGateway):
    """Keeps every person the server answered to a contact write."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.answers: list[dict[str, Any]] = []

    async def batch_create(
        self, bodies: Sequence[dict[str, Any]], *, before_send: Hook
    ) -> list[ItemResult]:
        answers = await super().batch_create(bodies, before_send=before_send)
        self.answers += [a for a in answers if isinstance(a, dict)]
        return answers

    async def batch_update(
        self, bodies: Mapping[str, dict[str, Any]], mask: Sequence[str]
    ) -> dict[str, ItemResult]:
        answers = await super().batch_update(bodies, mask)
        self.answers += [a for a in answers.values() if isinstance(a, dict)]
        return answers


async def test_contact_writes_answer_only_identity_metadata_and_stamp(world: World) -> None:
    """batchCreateContacts and batchUpdateContacts come back with the resource name, the etag,
    the metadata and the stamp, and none of the contact's fields: the engine never reads them
    (it knows what it sent)."""
    await world.apply(book(4))
    recorder = AnswerRecorder(world.client)
    result = await world.apply(book(6, title="Lead"), gateway=recorder)
    assert result.counts()[Outcome.CREATED] == 2
    assert result.counts()[Outcome.UPDATED] == 4
    assert len(recorder.answers) == 6
    for person in recorder.answers:
        assert set(person) == ALWAYS | set(WRITE_ANSWER_FIELDS), sorted(person)
        assert person["metadata"]["sources"][0]["updateTime"]


class LaggingGateway(ClientGateway):
    """Lists the address book as it was when ``freeze`` was called: a listing that lags."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.frozen: tuple[list[dict[str, Any]], bool] | None = None

    async def freeze(self) -> None:
        self.frozen = await super().list_people()

    async def list_people(self) -> tuple[list[dict[str, Any]], bool]:
        return self.frozen if self.frozen is not None else await super().list_people()


async def _apply(
    world: World,
    gateway: ClientGateway,
    desired: DesiredState,
    written: MutableMapping[str, Any],
    progress: Callable[[int], None] | None = None,
) -> ApplyResult:
    with world.journal() as journal:
        return await converge(
            gateway,
            journal,
            desired,
            world.settings(),
            clock=world.clock,
            rng=random.Random(world.seed),
            written=written,
            progress=progress,
        )


async def test_the_copy_made_from_a_short_answer_stands_in_for_a_lagging_read(
    world: World,
) -> None:
    """Listings lag writes: here one shows each contact as it was before our update.
    The engine's copy of what it wrote (the fields it sent over the copy it planned on, with
    the answer's etag and metadata) stands in for them: it keeps a field someone else wrote,
    and planning against it finds nothing left to write."""
    written: dict[str, Any] = {}
    gateway = LaggingGateway(world.client)
    assert (await _apply(world, gateway, book(3), written)).converged
    first = next(p for p in await world.people() if p["names"][0]["givenName"] == "Given0")
    await world.edit(
        first["resourceName"], {"biographies": [{"value": "met at a fair"}]}, "biographies"
    )
    await gateway.freeze()
    updated = await _apply(world, ClientGateway(world.client), book(3, title="Lead"), written)
    assert updated.counts()[Outcome.UPDATED] == 3, updated.to_json()
    ours = written[first["resourceName"]]
    assert ours["organizations"] == [{"name": "Acme", "title": "Lead"}]
    assert ours["biographies"][0]["value"] == "met at a fair"
    assert ours["etag"] != first["etag"]
    updates = world.client.stats.requests["people.batchUpdateContacts"]
    again = await _apply(world, gateway, book(3, title="Lead"), written)
    assert again.converged, again.to_json()
    assert again.counts()[Outcome.UNCHANGED] == 3
    assert world.client.stats.requests["people.batchUpdateContacts"] == updates


async def test_each_write_answer_is_shared_as_soon_as_it_is_answered(world: World) -> None:
    """The engine works on the caller's mapping of our writes, not on a copy folded back at
    the end of a wave: whoever shares it (the controller's poller, telling our own writes
    echoing back from others' edits) holds each answer from the moment it is answered."""
    written: dict[str, Any] = {}
    held_at_each_outcome: list[int] = []
    result = await _apply(
        world,
        ClientGateway(world.client),
        book(3),
        written,
        progress=lambda _n: held_at_each_outcome.append(len(written)),
    )
    assert result.counts()[Outcome.CREATED] == 3
    assert held_at_each_outcome == [1, 2, 3]  # each outcome recorded after its answer is held
    assert {p["resourceName"] for p in await world.people()} == set(written)


async def test_an_earlier_passs_answer_is_not_made_young_again_by_a_later_pass(
    world: World,
) -> None:
    """A controller keeps each write's whole answer for ``hold`` seconds only; a later pass
    that writes something else leaves the earlier answers as old as they are (a copy folded
    back would have stamped them all as just written, and kept them)."""
    clock = ManualClock()
    written = LiveIndex(hold=30.0, clock=clock)
    assert (await _apply(world, ClientGateway(world.client), book(2), written)).converged
    first = set(written)
    assert len(first) == 2
    clock.advance(20)
    assert (await _apply(world, ClientGateway(world.client), book(3), written)).converged
    assert len(written) == 3
    clock.advance(15)  # 35 s after the first pass, 15 s after the second
    written.compact()
    assert set(written).isdisjoint(first)
    assert len(written) == 1
