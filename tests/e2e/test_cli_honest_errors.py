"""Errors that tell the truth: a refused apply says only why, and every hint names an option
that the command which printed it really has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.cli.apply import apply
from reconciler.cli.options import option_flags
from reconciler.cli.plan import plan
from reconciler.cli.run import run
from reconciler.plan import PlanOptions, PlanRefused, build_plan
from tests.support.cli import invoke
from tests.support.manifests import write_tree

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def named_flags(text: str) -> set[str]:
    return set(FLAG.findall(text))


def test_a_refused_apply_prints_why_and_no_apply_summary(tmp_path: Path) -> None:
    """A plan refused by a guard: exit 1, the reason with a hint naming apply's own override,
    and no "Apply: 0 created, ..." line claiming an apply that never happened."""
    write_tree(tmp_path / "m", range(3))
    assert invoke("apply", "--auto-approve", "m", cwd=tmp_path).exit_code == 0
    write_tree(tmp_path / "m", range(2))
    refused = invoke("apply", "--auto-approve", "--prune", "--max-deletes", "0", "m", cwd=tmp_path)
    assert refused.exit_code == 1
    assert "Apply:" not in refused.output
    assert "Error: refusing to delete 1 of 3 managed contacts" in refused.output
    assert "pass --allow-mass-delete" in refused.output
    assert named_flags(refused.output) <= set(option_flags(apply).values())


def test_pruning_to_empty_names_an_option_plan_and_apply_have(tmp_path: Path) -> None:
    """No contact manifest left: the refusal names --allow-empty, which plan and apply accept
    and which then plans the deletions."""
    write_tree(tmp_path / "m", range(3))
    assert invoke("apply", "--auto-approve", "m", cwd=tmp_path).exit_code == 0
    write_tree(tmp_path / "m", range(0))
    for command, args in ((plan, ["plan"]), (apply, ["apply", "--auto-approve"])):
        refused = invoke(*args, "--prune", "m", cwd=tmp_path)
        assert refused.exit_code == 1
        assert "pass --allow-empty to delete them all" in refused.output
        assert named_flags(refused.output) <= set(option_flags(command).values())
    allowed = invoke("plan", "--prune", "--allow-empty", "m", cwd=tmp_path)
    assert allowed.exit_code == 0, allowed.output
    assert "3 to destroy" in allowed.stdout


def test_refusals_name_only_options_the_command_in_use_has() -> None:
    """Planning with a command's own spelling of the options (as `run` passes to the
    controller): a refusal names a flag only if that command accepts it."""
    from tests.support.manifests import contact, desired
    from tests.support.persons import live, person, stamp

    people = [
        person(
            f"people/c{i}", etag="e", urls=[{"value": "u"}], clientData=stamp("r", f"c{i}", "urls")
        )
        for i in range(3)
    ]
    for command in (plan, apply, run):
        flags = option_flags(command)
        options = PlanOptions(owner="r", prune=True, max_deletes=0, flags=flags)
        for wanted in (desired(), desired(contact("c0"))):  # empty; over the deletion cap
            with pytest.raises(PlanRefused) as refusal:
                build_plan(wanted, live(*people), options)
            assert named_flags(str(refusal.value)) <= set(flags.values()), command.name


def test_a_plan_over_the_contact_limit_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With room for 4 contacts, 3 applied and 6 wanted: apply exits 1 with the numbers and
    writes nothing (a plan afterwards still has the 3 creates to make)."""
    import reconciler.plan.guards

    monkeypatch.setattr(reconciler.plan.guards, "MAX_CONTACTS_PER_USER", 4)
    write_tree(tmp_path / "m", range(3))
    assert invoke("apply", "--auto-approve", "m", cwd=tmp_path).exit_code == 0
    write_tree(tmp_path / "m", range(6))
    refused = invoke("apply", "--auto-approve", "m", cwd=tmp_path)
    assert refused.exit_code == 1
    assert "would hold 6 contacts (3 now, 3 to create, 0 to delete)" in refused.output
    assert "at most 4 per user" in refused.output
    assert "Apply:" not in refused.output
    monkeypatch.setattr(reconciler.plan.guards, "MAX_CONTACTS_PER_USER", 25_000)
    view = invoke("plan", "-o", "json", "m", cwd=tmp_path)
    assert '"add": 3' in view.stdout
