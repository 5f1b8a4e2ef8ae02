"""Walking a manifest tree: what is read, what is skipped, and what is refused."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.manifest import load, signature

GROUP = (
    "apiVersion: reconciler/v1\nkind: ContactGroup\n"
    "metadata: {{name: {name}}}\nspec: {{name: {name}}}\n"
)


def group(name: str) -> str:
    return GROUP.format(name=name)


def test_yaml_and_yml_are_read_recursively_and_hidden_files_are_skipped(tmp_path: Path) -> None:
    """Only .yaml/.yml files count; dot files and dot folders are ignored."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    (tmp_path / "a" / "one.yaml").write_text(group("one"))
    (tmp_path / "a" / "b" / "two.yml").write_text(group("two") + "---\n" + group("three"))
    (tmp_path / "a" / "notes.txt").write_text("not yaml")
    (tmp_path / ".hidden.yaml").write_text("{{{ broken")
    (tmp_path / ".git" / "config.yaml").write_text("{{{ broken")
    result = load([tmp_path])
    assert result.ok, result.errors
    assert sorted(g.name for g in result.groups) == ["one", "three", "two"]
    assert result.files == 2


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    """A path that does not exist is reported, not silently ignored."""
    missing = tmp_path / "nope"
    [error] = load([missing]).errors
    assert (error.path, error.line, error.col) == (str(missing), 1, 1)
    assert error.message == "no such file or directory"


def test_files_over_the_size_cap_are_refused(tmp_path: Path) -> None:
    """A file larger than max_file_bytes is not read at all."""
    path = tmp_path / "big.yaml"
    path.write_text(group("big") + "#" * 2000 + "\n")
    [error] = load([tmp_path], max_file_bytes=1024).errors
    assert error.path == str(path)
    assert error.message.startswith("file is ")
    assert error.message.endswith("bytes, more than the limit of 1024")
    assert load([tmp_path]).ok


def test_a_symlink_loop_is_reported(tmp_path: Path) -> None:
    """A folder link back to a parent is reported once instead of walked forever."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "g.yaml").write_text(group("g"))
    os.symlink(tmp_path, tmp_path / "sub" / "back")
    os.symlink(tmp_path / "self", tmp_path / "self")
    result = load([tmp_path])
    messages = sorted((Path(e.path).name, e.message) for e in result.errors)
    assert messages == [("back", "symbolic link loop"), ("self", "symbolic link loop")]
    assert [g.name for g in result.groups] == ["g"]


def test_links_pointing_outside_the_root_are_refused(tmp_path: Path) -> None:
    """A link may not pull in files from outside the folder that was asked for.

    A link to a file inside the root is fine, and the file is still read only once.
    """
    outside = tmp_path / "outside.yaml"
    outside.write_text(group("outside"))
    root = tmp_path / "root"
    root.mkdir()
    (root / "inside.yaml").write_text(group("inside"))
    os.symlink(outside, root / "link.yaml")
    os.symlink(root / "inside.yaml", root / "alias.yaml")
    result = load([root])
    [error] = result.errors
    assert error.path == str(root / "link.yaml")
    assert error.message == "symbolic link points outside the manifest root"
    assert sorted(g.name for g in result.groups) == ["inside"]
    again = load([root / "alias.yaml", root / "inside.yaml"])
    assert again.files == 1, "a file reached twice is read once"


def test_the_signature_changes_with_every_change_a_load_would_read(tmp_path: Path) -> None:
    """A file written in place, replaced by a rename, added, removed, or a link repointed
    changes the signature; files a load skips (hidden, not YAML) and a look that changes
    nothing do not."""
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
        (folder / "a.yaml").write_text(group("a"))
    link = tmp_path / "current"
    link.symlink_to(one)
    seen = [signature([link])]

    def changed() -> bool:
        seen.append(signature([link]))
        return seen[-1] != seen[-2]

    assert not changed()
    (one / "notes.txt").write_text("not a manifest")
    (one / ".draft.yaml").write_text(group("draft"))
    assert not changed()
    (one / "a.yaml").write_text(group("bee"))  # in place (one timestamp tick may be coarse)
    assert changed()
    (one / ".a.new").write_text(group("c"))
    os.replace(one / ".a.new", one / "a.yaml")
    assert changed()
    (one / "b.yml").write_text(group("b"))
    assert changed()
    (one / "b.yml").unlink()
    assert changed()
    link.unlink()
    link.symlink_to(two)
    assert changed()
