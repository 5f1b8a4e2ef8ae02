"""Notifications through Apprise and GitHub commit statuses, delivered to a local receiver."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from reconciler.controller.events import Event, EventKind
from reconciler.remote.github import GitHubStatus
from reconciler.remote.notify import AppriseTarget, Notifier
from tests.support.eventually import eventually_async
from tests.support.receiver import Receiver, receiver

SHA = "0123456789abcdef0123456789abcdef01234567"
AT = datetime(2026, 1, 2, tzinfo=UTC)


def event(kind: EventKind, revision: str | None = SHA, key: str | None = None) -> Event:
    return Event(kind, "acct-1", revision, "what happened", key, AT)


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as served:
        yield served


class Delays:
    """A sleep that records the backoff it is asked for and returns at once."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(0)


async def test_each_notification_reaches_the_receiver_once_per_revision_and_reason(
    hook: Receiver,
) -> None:
    """The same reason on the same revision is told once however often it happens; a new
    revision or another reason is told again."""
    notifier = Notifier([AppriseTarget([f"json://{hook.url}/hook"])])
    for _ in range(3):
        notifier.submit(event(EventKind.PASS_FAILED))
        notifier.submit(event(EventKind.DRIFT_DETECTED, key="jane"))
    notifier.submit(event(EventKind.PASS_FAILED, revision="fedcba9"))
    notifier.submit(event(EventKind.DRIFT_DETECTED, key="joe"))
    await notifier.drain()
    titles = [body["title"] for body in hook.bodies()]
    assert titles == [
        "contacts-reconciler: a pass failed in acct-1",
        "contacts-reconciler: drift detected in acct-1",
        "contacts-reconciler: a pass failed in acct-1",
        "contacts-reconciler: drift detected in acct-1",
    ]
    messages = [body["message"] for body in hook.bodies()]
    assert "contact: jane" in messages[1]
    assert f"revision: {SHA}" in messages[0]
    assert "revision: fedcba9" in messages[2]
    assert [body["type"] for body in hook.bodies()][:2] == ["failure", "failure"]


async def test_a_failing_target_is_retried_with_backoff_and_delivered_once(
    hook: Receiver,
) -> None:
    """Two HTTP 500s, then success: one delivery, after waits that double."""
    hook.statuses = [500, 500]
    delays = Delays()
    notifier = Notifier([AppriseTarget([f"json://{hook.url}/hook"])], sleep=delays)
    notifier.submit(event(EventKind.MANIFESTS_BROKEN))
    await notifier.drain()
    assert len(hook.bodies()) == 1
    assert delays.asked == [1.0, 2.0]
    assert notifier.delivered == 1


async def test_a_target_that_never_answers_gives_up_after_its_attempts(hook: Receiver) -> None:
    hook.statuses = [503] * 10
    delays = Delays()
    notifier = Notifier([AppriseTarget([f"json://{hook.url}/hook"])], attempts=3, sleep=delays)
    notifier.submit(event(EventKind.CONTACT_STALLED, key="jane"))
    await notifier.drain()
    assert (hook.bodies(), delays.asked, notifier.delivered) == ([], [1.0, 2.0], 0)


class Stuck:
    """A target that blocks until released, like a webhook that hangs."""

    name = "stuck"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self.sent: list[Event] = []

    def send(self, sent: Event) -> bool:
        self.entered.set()
        self.release.wait(60)
        self.sent.append(sent)
        return True


async def test_a_hanging_target_never_blocks_the_event_loop() -> None:
    """Delivery runs in a worker thread: while a target hangs, submitting returns at once and
    the loop keeps running; the notification arrives once the target answers."""
    stuck = Stuck()
    notifier = Notifier([stuck])
    delivering = asyncio.create_task(notifier.run())
    try:
        notifier.submit(event(EventKind.PASS_FAILED))
        await eventually_async(lambda: _true(stuck.entered.is_set()), "the target to be called")
        for _ in range(100):  # the loop turns while the target hangs
            notifier.submit(event(EventKind.DRIFT_DETECTED, key="jane"))
            await asyncio.sleep(0)
        stuck.release.set()
        await eventually_async(lambda: _true(len(stuck.sent) == 2), "both notifications")
    finally:
        stuck.release.set()
        delivering.cancel()
        await asyncio.gather(delivering, return_exceptions=True)
    assert [e.kind for e in stuck.sent] == [EventKind.PASS_FAILED, EventKind.DRIFT_DETECTED]


async def _true(value: bool) -> bool:
    return value


async def test_a_hanging_target_does_not_hold_up_the_others(hook: Receiver) -> None:
    """Each target delivers on its own: the webhook hears of a failure while GitHub hangs."""
    stuck = Stuck()
    notifier = Notifier([stuck, AppriseTarget([f"json://{hook.url}/hook"])])
    delivering = asyncio.create_task(notifier.run())
    try:
        notifier.submit(event(EventKind.PASS_FAILED))
        await eventually_async(lambda: _true(len(hook.bodies()) == 1), "the webhook's message")
        assert stuck.entered.is_set()
        assert stuck.sent == []
    finally:
        stuck.release.set()
        delivering.cancel()
        await asyncio.gather(delivering, return_exceptions=True)


async def test_github_commit_statuses_mark_the_revision(hook: Receiver) -> None:
    """pending when a revision loads, success once applied, failure on a problem; one status per
    account context; events with no commit revision post nothing."""
    github = GitHubStatus("acme/address-book", "s3cret\n", api=f"http://{hook.url}/api/v3")
    notifier = Notifier([github])
    notifier.submit(event(EventKind.REVISION_PENDING))
    notifier.submit(event(EventKind.REVISION_APPLIED))
    notifier.submit(event(EventKind.PASS_FAILED))
    notifier.submit(event(EventKind.PASS_FAILED))
    notifier.submit(event(EventKind.DRIFT_DETECTED, revision=None, key="jane"))
    await notifier.drain()
    assert [r.path for r in hook.requests] == [
        f"/api/v3/repos/acme/address-book/statuses/{SHA}"
    ] * 3
    assert [b["state"] for b in hook.bodies()] == ["pending", "success", "failure"]
    assert {b["context"] for b in hook.bodies()} == {"contacts-reconciler/acct-1"}
    assert hook.requests[0].headers["Authorization"] == "Bearer s3cret"


def test_apprise_progress_events_are_not_sent_to_people(hook: Receiver) -> None:
    """A revision pending or applied is for commit statuses; inboxes hear about problems."""
    assert AppriseTarget([f"json://{hook.url}/hook"]).send(event(EventKind.REVISION_APPLIED))
    assert hook.bodies() == []


def test_a_bad_notify_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="not an Apprise URL") as caught:
        AppriseTarget(["nonsense-with-a-token-abc123"])
    assert "abc123" not in str(caught.value)


def test_reconciler_run_refuses_a_bad_notify_url_before_starting(tmp_path: Any) -> None:
    """A --notify value that is no Apprise URL is a usage error (exit 2) that does not echo the
    value, and nothing starts; so is --github-status without a token."""
    from click.testing import CliRunner

    from reconciler.cli import main

    runner = CliRunner()
    args = ["run", str(tmp_path), "--health-addr", "0", "--metrics-addr", "0"]
    bad = runner.invoke(main, [*args, "--notify", "nonsense-token-abc123"], env={})
    assert bad.exit_code == 2
    assert "not an Apprise URL" in bad.output
    assert "abc123" not in bad.output
    tokenless = runner.invoke(
        main, [*args, "--github-status", "acme/book"], env={"RECONCILER_GITHUB_TOKEN": ""}
    )
    assert tokenless.exit_code == 2
    assert "needs a token" in tokenless.output
