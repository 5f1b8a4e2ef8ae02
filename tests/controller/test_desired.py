"""The desired-state store: last good state kept, and what changed between loads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from reconciler.controller.desired import DesiredStore


class Tree:
    def __init__(self) -> None:
        self.contacts: dict[str, dict[str, str]] = {"a": {}, "b": {}}
        self.groups: list[str] = []
        self.errors: list[str] = []

    def __call__(self, paths: Sequence[Path]) -> Any:
        contacts = [
            SimpleNamespace(name=n, spec=None, labels={}, annotations=a)
            for n, a in self.contacts.items()
        ]
        groups = [
            SimpleNamespace(name=g, spec=None, labels={}, annotations={}) for g in self.groups
        ]
        return SimpleNamespace(
            contacts=contacts, groups=groups, errors=self.errors, ok=not self.errors
        )


def test_the_first_load_changes_everything() -> None:
    """With nothing loaded before, keys cannot say what changed: a full pass is needed."""
    store = DesiredStore([Path("m")], loader=Tree())
    loaded = store.reload()
    assert loaded.ok
    assert loaded.changed
    assert loaded.changed_keys is None


def test_changed_added_and_removed_contacts_are_named() -> None:
    """A later load names exactly the contacts whose manifest changed, appeared or went."""
    tree = Tree()
    store = DesiredStore([Path("m")], loader=tree)
    store.reload()
    tree.contacts["a"] = {"team": "x"}
    del tree.contacts["b"]
    tree.contacts["c"] = {}
    loaded = store.reload()
    assert loaded.changed_keys == {"a", "b", "c"}
    assert store.reload().changed_keys == frozenset()
    assert not store.reload().changed


def test_a_group_or_suspension_change_asks_for_a_full_pass() -> None:
    """Changes that keys cannot express give no key list."""
    tree = Tree()
    store = DesiredStore([Path("m")], loader=tree)
    store.reload()
    tree.groups.append("friends")
    assert store.reload().changed_keys is None
    tree.contacts["a"] = {"reconciler/suspend": "true"}
    loaded = store.reload()
    assert loaded.changed_keys is None
    assert store.suspended == {"a"}
    assert store.state is not None
    assert [c.name for c in store.state.contacts] == ["b"]


def test_a_broken_load_keeps_the_last_good_state() -> None:
    """Errors are reported and the state in force stays the last one that loaded cleanly."""
    tree = Tree()
    store = DesiredStore([Path("m")], loader=tree)
    store.reload()
    tree.errors = ["m/a.yaml:1:1: bad"]
    tree.contacts = {}
    loaded = store.reload()
    assert not loaded.ok
    assert store.broken
    assert store.state is not None
    assert [c.name for c in store.state.contacts] == ["a", "b"]
    tree.errors = []
    tree.contacts = {"a": {}, "b": {}}
    assert store.reload().changed_keys == frozenset()
    assert not store.broken


def test_a_loader_that_raises_is_a_broken_tree() -> None:
    """An exception while loading is reported as an error, not a crash."""

    def explode(paths: Sequence[Path]) -> Any:
        raise OSError("disk gone")

    store = DesiredStore([Path("m")], loader=explode)
    loaded = store.reload()
    assert not loaded.ok
    assert "disk gone" in loaded.errors[0]


def test_a_new_revision_that_only_moves_a_file_changes_nothing_but_the_revision(
    tmp_path: Path,
) -> None:
    """git-sync publishes a revision where a file moved: the store keeps every contact, queues
    nothing, and takes the new revision; the metric exports the revision in force."""
    from reconciler.controller.desired import load_manifests
    from reconciler.controller.metrics import Metrics
    from tests.support.revisions import commit_of, published

    tree = published(tmp_path, commits=True)
    store = DesiredStore([tree.link], loader=load_manifests)
    assert store.reload().ok
    assert store.state is not None
    assert store.state.revision == commit_of("b")
    tree.flip()
    loaded = store.reload()
    assert (loaded.ok, loaded.changed, loaded.changed_keys) == (True, False, frozenset())
    assert store.state.revision == commit_of("a")
    metrics = Metrics()
    metrics.set_revision("default", commit_of("b"))
    metrics.set_revision("default", commit_of("a"))
    exposed = metrics.exposition().decode()
    assert (
        f'reconciler_manifests_revision_info{{account="default",revision="{commit_of("a")}"}} 1.0'
        in exposed
    )
    assert commit_of("b") not in exposed
