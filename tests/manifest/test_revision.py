"""One load reads one revision, even while git-sync or Kubernetes repoints the link under it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.manifest import fingerprint_of, load
from tests.support.revisions import CONTACT, commit_of, flipping_reads, published


@pytest.mark.parametrize("flip_after", [1, 2, 3, 4])
def test_a_link_repointed_between_two_reads_never_mixes_revisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flip_after: int
) -> None:
    """The moved contact is found exactly once, from one revision, whichever read the swap
    follows: the load notices the link moved and reads the new revision from the start."""
    tree = published(tmp_path, commits=True)
    with flipping_reads(monkeypatch, tree, lambda n: n == flip_after) as counts:
        result = load([tree.link / "."])
    assert counts[1] == 1, "the link was repointed during the load"
    assert result.ok, [str(e) for e in result.errors]
    assert sorted(c.name for c in result.contacts) == ["moved", "one", "three", "two"]
    assert result.revision == commit_of(tree.current())
    assert result.rereads == 1


def test_an_old_worktree_removed_mid_read_is_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git-sync deletes the previous worktree after the swap; reading it fails half-way, and the
    load reads the new revision instead of reporting "no such file or directory"."""
    tree = published(tmp_path)
    original = tree.flip

    def flip_and_remove() -> None:
        before = tree.revisions[tree.current()]
        original()
        for path in sorted(before.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()

    monkeypatch.setattr(tree, "flip", flip_and_remove)
    with flipping_reads(monkeypatch, tree, lambda n: n == 1):
        result = load([tree.link])
    assert result.ok, [str(e) for e in result.errors]
    assert sorted(c.name for c in result.contacts) == ["moved", "one", "three", "two"]


def test_a_tree_that_never_settles_is_an_error_not_a_mix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Repointed during every read, the load gives up after a bounded number of tries and
    returns an error and nothing else, so nothing is planned from a torn tree."""
    from reconciler.manifest.loader import MAX_READS

    tree = published(tmp_path)
    with flipping_reads(monkeypatch, tree, lambda n: n % 4 == 1) as counts:  # once a read
        result = load([tree.link])
    assert not result.ok
    assert not result.contacts
    [error] = result.errors
    assert f"replaced by a new revision {MAX_READS} times" in error.message
    assert counts[0] == MAX_READS * 4


def test_a_configmap_volume_is_read_through_its_data_link_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ConfigMap volume's files are links through ``..data``; the update repoints ``..data``
    only. Reading the files one link at a time would mix versions (here: one name twice)."""
    volume = tmp_path / "volume"
    for stamp, first, second in (("..v1", "moved", "one"), ("..v2", "one", "moved")):
        (volume / stamp).mkdir(parents=True)
        (volume / stamp / "a.yaml").write_text(CONTACT.format(name=first))
        (volume / stamp / "b.yaml").write_text(CONTACT.format(name=second))
    os.symlink("..v1", volume / "..data")
    for name in ("a.yaml", "b.yaml"):
        os.symlink(Path("..data") / name, volume / name)

    class Volume:
        root = tmp_path

        @staticmethod
        def flip() -> None:
            target = "..v2" if os.readlink(volume / "..data") == "..v1" else "..v1"
            os.symlink(target, volume / "..data_tmp")
            os.replace(volume / "..data_tmp", volume / "..data")

    with flipping_reads(monkeypatch, Volume, lambda n: n == 1):  # type: ignore[arg-type]
        result = load([volume])
    assert result.ok, [str(e) for e in result.errors]
    assert sorted(c.name for c in result.contacts) == ["moved", "one"]
    assert [Path(c.location.path).name for c in result.contacts if c.location] == [
        "a.yaml",
        "b.yaml",
    ]


def test_the_revision_is_the_checked_out_commit(tmp_path: Path) -> None:
    """A repository's HEAD, through a branch ref (loose or packed), or a worktree's detached
    HEAD, names the revision; git itself is not run."""
    repo = tmp_path / "repo"
    (repo / "people").mkdir(parents=True)
    (repo / "people" / "one.yaml").write_text(CONTACT.format(name="one"))
    git = repo / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "packed-refs").write_text(f"# pack-refs with: peeled\n{'c' * 40} refs/heads/main\n")
    assert load([repo / "people"]).revision == "c" * 40
    (git / "refs" / "heads" / "main").write_text("d" * 40 + "\n")
    assert load([repo / "people"]).revision == "d" * 40
    tree = published(tmp_path / "sync", commits=True)
    assert load([tree.link]).revision == commit_of("b")


def test_without_git_the_revision_is_a_digest_of_what_was_read(tmp_path: Path) -> None:
    """The same files in two folders have one digest; a moved file changes it."""
    tree = published(tmp_path)
    a, b = (load([tree.revisions[rev]]).revision for rev in ("a", "b"))
    assert a.startswith("sha256:")
    assert a != b
    copy = tmp_path / "copy"
    for path in tree.revisions["a"].rglob("*.yaml"):
        target = copy / path.relative_to(tree.revisions["a"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    assert load([copy]).revision == a


def test_the_fingerprint_alone_is_the_loads_without_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fingerprint_of`` (what ``apply PLANFILE`` compares) reports what a load reports, with
    a broken file and a file reached through two paths among them, and parses nothing; in a
    git checkout too, where the revision is the commit but the fingerprint the content's."""
    tree = published(tmp_path)
    folder = tree.revisions["a"]
    (folder / "broken.yaml").write_text("kind: [\n")
    paths = [folder, folder / "broken.yaml"]
    loaded = load(paths)
    assert not loaded.ok
    import reconciler.manifest.loader as loader

    def no_parsing(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("fingerprint_of parsed a file")

    assert loaded.fingerprint == loaded.revision  # no git here
    monkeypatch.setattr(loader, "parse_file", no_parsing)
    assert fingerprint_of(paths) == loaded.fingerprint
    (folder / "broken.yaml").write_text("kind: [\n\n")
    assert fingerprint_of(paths) != loaded.fingerprint
    monkeypatch.undo()
    synced = published(tmp_path / "sync", commits=True)
    in_git = load([synced.link])
    assert in_git.revision == commit_of("b")
    assert fingerprint_of([synced.link]) == in_git.fingerprint
    assert in_git.fingerprint.startswith("sha256:")
