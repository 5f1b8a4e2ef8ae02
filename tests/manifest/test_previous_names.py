"""``reconciler/previous-names``: validated per document and across the tree, with locations."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifest import load


def contact(name: str, previous: str | None = None) -> str:
    annotations = (
        f'\n  annotations: {{reconciler/previous-names: "{previous}"}}' if previous else ""
    )
    return (
        "apiVersion: reconciler/v1\nkind: Contact\n"
        f"metadata:\n  name: {name}{annotations}\n"
        "spec:\n  names: [{givenName: Jane}]\n"
    )


def errors(tmp_path: Path, **files: str) -> list[str]:
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    return [str(error) for error in load([str(tmp_path)]).errors]


def test_previous_names_load(tmp_path: Path) -> None:
    """A list of earlier names, spaces allowed after commas, is accepted as written."""
    assert errors(tmp_path, jane=contact("jane", "jane-old, jane-older")) == []
    (jane,) = load([str(tmp_path)]).contacts
    assert jane.annotations["reconciler/previous-names"] == "jane-old, jane-older"


def test_a_previous_name_that_is_a_current_name_is_a_located_error(tmp_path: Path) -> None:
    """Another manifest still named bob: the annotation's line and column are given, and the
    other manifest's location is named."""
    (error,) = errors(tmp_path, jane=contact("jane", "bob"), bob=contact("bob"))
    assert error.startswith(f"{tmp_path / 'jane.yaml'}:5:")
    assert "previous name 'bob' of contact 'jane' is the current name of the contact at" in error
    assert "bob.yaml:4:" in error


def test_its_own_name_as_a_previous_name_is_an_error(tmp_path: Path) -> None:
    (error,) = errors(tmp_path, jane=contact("jane", "jane"))
    assert "previous name 'jane' of contact 'jane' is its own" in error


def test_one_previous_name_in_two_manifests_is_an_error(tmp_path: Path) -> None:
    """One old contact cannot be renamed into two manifests."""
    (error,) = errors(tmp_path, a=contact("a", "old"), b=contact("b", "old"))
    assert "previous name 'old' is listed by contacts 'a' and 'b'" in error


@pytest.mark.parametrize("value", ["Not A Name", ",", "ok,-bad"])
def test_a_malformed_list_is_a_located_error(tmp_path: Path, value: str) -> None:
    (error,) = errors(tmp_path, jane=contact("jane", value))
    assert f"{tmp_path / 'jane.yaml'}:5:" in error
    assert "earlier metadata.name values separated by commas" in error


def test_previous_names_on_a_group_are_an_error(tmp_path: Path) -> None:
    group = (
        "apiVersion: reconciler/v1\nkind: ContactGroup\n"
        'metadata:\n  name: team\n  annotations: {reconciler/previous-names: "old"}\n'
        "spec: {name: Team}\n"
    )
    (error,) = errors(tmp_path, team=group)
    assert "applies to contacts only" in error
