"""Between passes an account holds at most 2 KB per contact.

A domain replica keeps a thousand accounts of hundreds of contacts each, so what one account
keeps between passes decides the pod's memory. The real worker, backend, poller and status over
the in-process emulator converge 200 contacts (name, email, phone, organization, group); then,
after the poll that lists them, the bytes reachable from the account's own structures (not the
shared client, metrics or health) are summed: deterministic for the same data, however loaded
the machine is (see ``tests/support/footprint.py``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from reconciler.apply.engine import ApplySettings
from reconciler.apply.journal import CreateJournal
from reconciler.controller.account import AccountWorker, Intervals
from reconciler.controller.accounts import Account, DriftPolicy
from reconciler.controller.backend import ApplyBackend
from reconciler.controller.desired import DesiredStore
from reconciler.controller.health import Health
from reconciler.controller.metrics import Metrics
from reconciler.controller.polling import LivePoller
from reconciler.controller.runner import CONTROLLER_RETRIES
from reconciler.controller.status import StatusBoard
from reconciler.emulator import create_app
from reconciler.people import connect
from tests.support.eventually import eventually_async
from tests.support.footprint import held_bytes
from tests.support.manifests import write_tree

USER = "a@example.com"
CONTACTS = 200
POLL = 30.0
AT_REST_PER_CONTACT = 2048
SETTLED_PER_CONTACT = 1024  # once our writes' answers are dropped: for the account's life


def reconciled(worker: AccountWorker, result: str) -> float:
    value = worker.metrics.registry.get_sample_value(
        "reconciler_reconcile_total", {"account": worker.label, "result": result}
    )
    return value or 0.0


async def test_a_converged_account_holds_at_most_2_kb_per_contact(
    clock: Any, tmp_path: Path
) -> None:
    """Right after the pass that created 200 contacts (our writes' answers still young) and
    the poll that indexed them, the account holds under 2 KB per contact: its live index,
    desired-state fingerprints, status, queue and logger together; once the answers are
    dropped (30 s later), under 1 KB."""
    manifests = write_tree(tmp_path / "m", range(CONTACTS))
    async with connect("embedded", app=create_app(), token=f"user:{USER}") as client:
        with CreateJournal(tmp_path / "journal.jsonl") as journal:
            backend = ApplyBackend(client, journal, ApplySettings(executor=CONTROLLER_RETRIES))
            account = Account(USER, (manifests,), "reconciler", False, DriftPolicy.CORRECT)
            metrics, health = Metrics(), Health(clock=clock)
            poller = LivePoller(client, "reconciler", written=backend.written)
            worker = AccountWorker(
                account,
                backend,
                poller=poller,
                store=DesiredStore(account.manifests),
                metrics=metrics,
                health=health,
                intervals=Intervals(poll=POLL, resync=3600, debounce=0.1),
                clock=clock,
                status=StatusBoard().account(
                    account.label, drift_policy="correct", suspended=False
                ),
            )
            task = asyncio.create_task(worker.run())
            try:
                await eventually_async(lambda: reconciled(worker, "success") == 1, "converged")
                polls = client.stats.requests["people.connections.list"]
                clock.advance(POLL)
                await eventually_async(
                    lambda: client.stats.requests["people.connections.list"] > polls, "a poll"
                )
                await eventually_async(lambda: poller.known == CONTACTS, "indexed")
                shared = (client, journal, metrics, health, worker.slots, clock, account)
                young = held_bytes(worker, shared=shared)
                answers = len(backend.written)
                backend.written.hold = 0.0  # as a poll 30 s later: only the etags stay
                backend.written.compact()
                settled = held_bytes(worker, shared=shared)
            finally:
                worker.shut_down()
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
    assert answers == CONTACTS  # our writes' answers were still young: the worst case
    assert young / CONTACTS <= AT_REST_PER_CONTACT, f"{young / CONTACTS:.0f} bytes per contact"
    assert settled / CONTACTS <= SETTLED_PER_CONTACT, f"{settled / CONTACTS:.0f} bytes per contact"
