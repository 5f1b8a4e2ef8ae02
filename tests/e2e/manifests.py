"""Manifest trees for end-to-end tests, written as YAML files like a user would."""

from __future__ import annotations

from pathlib import Path


def write_tree(root: Path, contacts: range, *, title: str = "Engineer", groups: int = 2) -> Path:
    """Contacts ``contacts`` spread over ``groups`` groups, one file per group plus one for the
    groups themselves, under ``root`` (replacing what was there)."""
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob("*.yaml"):
        old.unlink()
    docs = [
        f"apiVersion: reconciler/v1\nkind: ContactGroup\nmetadata: {{name: team-{g}}}\n"
        f"spec: {{name: Team {g}}}\n"
        for g in range(groups)
    ]
    (root / "groups.yaml").write_text("---\n".join(docs), encoding="utf-8")
    by_group: dict[int, list[str]] = {}
    for i in contacts:
        by_group.setdefault(i % groups, []).append(
            "apiVersion: reconciler/v1\n"
            "kind: Contact\n"
            f"metadata: {{name: person-{i:04d}}}\n"
            "spec:\n"
            f"  names: [{{givenName: Given{i}, familyName: Family{i}}}]\n"
            f"  emailAddresses: [{{value: person{i}@example.com, type: work}}]\n"
            f'  phoneNumbers: [{{value: "(650) 555-{i % 10000:04d}", type: mobile}}]\n'
            f"  organizations: [{{name: Acme, title: {title}}}]\n"
            f"  groups: [team-{i % groups}]\n"
        )
    for g, docs_ in by_group.items():
        (root / f"team-{g}.yaml").write_text("---\n".join(docs_), encoding="utf-8")
    return root
