"""A real account worker (engine backend, poller, manifests on disk) over the in-process
emulator, on the test's clock: for tests of what the loop sends to the API and when."""

from __future__ import annotations

from contextlib import AsyncExitStack
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
from reconciler.controller.slots import PassSlots
from reconciler.people import connect
from tests.support.pacing import UNPACED

OWNER = "reconciler"
ANN = (
    "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {name: ann}\n"
    "spec:\n  names: [{givenName: Ann}]\n"
)


async def open_worker(
    stack: AsyncExitStack,
    app: Any,
    user: str,
    root: Path,
    *,
    clock: Any,
    intervals: Intervals,
    slots: PassSlots | None = None,
) -> AccountWorker:
    """The worker of ``user`` with one contact (ann) to converge, its manifests, journal and
    client under ``root``; not started. The client closes with ``stack``."""
    folder = root / user
    folder.mkdir(parents=True)
    (folder / "ann.yaml").write_text(ANN)
    client = await stack.enter_async_context(
        connect("embedded", app=app, token=f"user:{user}", config=UNPACED)
    )
    journal = stack.enter_context(CreateJournal(root / f"{user}.jsonl"))
    backend = ApplyBackend(client, journal, ApplySettings(executor=CONTROLLER_RETRIES))
    account = Account(user, (folder,), OWNER, False, DriftPolicy.CORRECT)
    return AccountWorker(
        account,
        backend,
        poller=LivePoller(client, OWNER, written=backend.written),
        store=DesiredStore(account.manifests),
        metrics=Metrics(),
        health=Health(clock=clock),
        intervals=intervals,
        clock=clock,
        slots=slots,
    )
