"""The loader turns a tree of YAML manifests into validated resources with locations."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifest import ContactResource, GroupResource, ManifestError, load

CONTACT = """\
apiVersion: reconciler/v1
kind: Contact
metadata:
  name: jane-doe
  labels: {team: sales}
  annotations: {reconciler/prune: "false"}
spec:
  names: [{givenName: Jane, familyName: Doe}]
  emailAddresses: [{value: jane@example.com, type: work}, jane@example.org]
  phoneNumbers: [{value: "+1 212 555 0100", type: mobile}]
  groups: [sales]
"""

GROUP = """\
apiVersion: reconciler/v1
kind: ContactGroup
metadata: {name: sales}
spec: {name: Sales team}
"""


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_tree_loads_contacts_and_groups(tmp_path: Path) -> None:
    """Contacts and groups in nested folders load with names, labels and annotations."""
    write(tmp_path, "people/jane.yaml", CONTACT)
    write(tmp_path, "groups.yml", GROUP)
    result = load([tmp_path])
    assert result.ok, [str(e) for e in result.errors]
    assert result.files == 2
    [contact] = result.contacts
    [group] = result.groups
    assert isinstance(contact, ContactResource)
    assert isinstance(group, GroupResource)
    assert contact.name == "jane-doe"
    assert contact.labels == {"team": "sales"}
    assert contact.annotations == {"reconciler/prune": "false"}
    assert contact.prune is False
    assert contact.spec.groups == ["sales"]
    assert contact.location is not None
    assert (contact.location.line, contact.location.col) == (1, 1)
    assert group.name == "sales"
    assert group.spec.name == "Sales team"
    assert result.summary() == "1 contact, 1 group, 2 files"


def test_person_fields_are_api_json_without_groups(tmp_path: Path) -> None:
    """Bare strings become {value: ...}; only declared fields appear; groups are not a field."""
    write(tmp_path, "all.yaml", CONTACT + "---\n" + GROUP)
    [contact] = load([tmp_path]).contacts
    assert contact.spec.person_fields() == {
        "names": [{"givenName": "Jane", "familyName": "Doe"}],
        "emailAddresses": [
            {"value": "jane@example.com", "type": "work"},
            {"value": "jane@example.org"},
        ],
        "phoneNumbers": [{"value": "+1 212 555 0100", "type": "mobile"}],
    }


def test_an_empty_list_is_declared(tmp_path: Path) -> None:
    """A field written as [] is declared (to be cleared); a missing field is not."""
    text = CONTACT.replace("  groups: [sales]\n", "  urls: []\n")
    write(tmp_path, "c.yaml", text)
    [contact] = load([tmp_path]).contacts
    assert contact.spec.person_fields()["urls"] == []
    assert "addresses" not in contact.spec.person_fields()


def test_errors_are_located_and_say_what_to_do(tmp_path: Path) -> None:
    """Every error names file, line and column, and carries a hint."""
    bad = CONTACT.replace("type: work}", "type: work, formattedType: Work}")
    path = write(tmp_path, "bad.yaml", bad + "---\n" + GROUP)
    result = load([tmp_path])
    assert not result.ok
    [error] = result.errors
    assert isinstance(error, ManifestError)
    column = bad.splitlines()[8].index("formattedType") + 1
    assert (error.path, error.line, error.col) == (str(path), 9, column)
    assert error.message == "unknown field 'spec.emailAddresses.0.formattedType'"
    assert "output-only" in error.hint
    assert str(error).startswith(f"{path}:9:{column}: unknown field")


def test_phone_numbers_use_the_default_region(tmp_path: Path) -> None:
    """A national-format number is read in the default region given to load()."""
    text = CONTACT.replace('"+1 212 555 0100"', '"020 7946 0555"')
    write(tmp_path, "c.yaml", text + "---\n" + GROUP)
    assert load([tmp_path], default_region="GB").ok
    assert not load([tmp_path], default_region="US").ok


def test_a_broken_group_is_reported_once_not_once_per_member(tmp_path: Path) -> None:
    """Contacts naming a group whose manifest is invalid do not get errors of their own."""
    write(tmp_path, "c.yaml", CONTACT)
    write(tmp_path, "g.yaml", GROUP.replace("spec: {name: Sales team}", "spec: {nam: Sales}"))
    messages = [e.message for e in load([tmp_path]).errors]
    assert messages == ["missing required field 'spec.name'", "unknown field 'spec.nam'"]


def test_reloading_reuses_unchanged_files_and_rereads_changed_ones(tmp_path: Path) -> None:
    """A reload gives the same answer; an edited file is parsed again, by content not mtime."""
    contact = write(tmp_path, "c.yaml", CONTACT)
    write(tmp_path, "g.yaml", GROUP)
    first = load([tmp_path])
    again = load([tmp_path])
    assert again.ok
    assert again.contacts == first.contacts
    assert again.contacts is not first.contacts
    contact.write_text(CONTACT.replace("Jane", "Janet"), encoding="utf-8")
    edited = load([tmp_path])
    assert edited.contacts[0].spec.person_fields()["names"] == [
        {"givenName": "Janet", "familyName": "Doe"}
    ]
    contact.write_text(CONTACT.replace("groups: [sales]", "groups: [sale]"), encoding="utf-8")
    assert [e.message for e in load([tmp_path]).errors] == [
        "group 'sale' is not defined by any ContactGroup"
    ]
    assert load([tmp_path], cache=False).errors == load([tmp_path]).errors


def test_error_messages_never_repeat_contact_data(tmp_path: Path) -> None:
    """Messages locate the problem but never quote values: they end up in CI and controller logs."""
    secrets = ["jane@@example.com", "+1 212 555 01", "1985", "Jane Secret", "6505550100"]
    write(
        tmp_path,
        "c.yaml",
        "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {name: jane}\nspec:\n"
        "  emailAddresses: [jane@@example.com]\n"
        "  phoneNumbers: ['+1 212 555 01', 6505550100]\n"
        "  birthdays: [{date: {year: 1985, month: 2, day: 31}}]\n"
        "  nicknames: Jane Secret\n",
    )
    errors = load([tmp_path]).errors
    assert len(errors) == 5
    for error in errors:
        for secret in secrets:
            assert secret not in str(error), str(error)


def test_empty_and_comment_only_documents_are_skipped_like_kubectl(tmp_path: Path) -> None:
    """A trailing '---', a document of comments only and a file of comments only are accepted
    and define nothing, as kubectl accepts them."""
    write(tmp_path, "groups.yaml", GROUP + "---\n")
    write(tmp_path, "people/jane.yaml", "# Jane, reviewed 2024\n---\n" + CONTACT + "---\n# end\n")
    write(tmp_path, "people/todo.yaml", "# TODO: write Ann's contact\n")
    result = load([tmp_path])
    assert result.ok, [str(e) for e in result.errors]
    assert [c.name for c in result.contacts] == ["jane-doe"]
    assert [g.name for g in result.groups] == ["sales"]
    assert result.files == 3


def test_the_parse_cache_is_bounded_by_documents_not_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A domain's worth of files cannot pin every parsed model in memory: the cache keeps at
    most CACHE_DOCUMENTS documents, evicting the least recently used files, and a file read
    again after eviction loads the same."""
    from reconciler.manifest import parsing

    parsing.clear_cache()
    monkeypatch.setattr(parsing, "CACHE_DOCUMENTS", 8)
    for i in range(4):
        docs = [
            f"apiVersion: reconciler/v1\nkind: Contact\nmetadata: {{name: p{i}-{j}}}\n"
            f"spec:\n  names: [{{givenName: P{i}{j}}}]\n"
            for j in range(3)
        ]
        (tmp_path / f"f{i}.yaml").write_text("---\n".join(docs), encoding="utf-8")
    first = load([tmp_path])
    assert first.ok
    held = sum(len(o.accepted) for o in parsing._cache.values())
    assert held <= 8
    assert len(parsing._cache) == 2
    again = load([tmp_path])
    assert sorted(c.name for c in again.contacts) == sorted(c.name for c in first.contacts)
    parsing.clear_cache()
