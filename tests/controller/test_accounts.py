"""The accounts file: defaults, relative paths, and located, actionable errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.controller.accounts import (
    AccountsError,
    DriftPolicy,
    load_accounts,
    single_account,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path) -> object:
    return load_accounts(path, default_owner="ops", drift_policy=DriftPolicy.CORRECT)


def test_a_full_file_loads_with_defaults_filled_in(tmp_path: Path) -> None:
    """Owner and drift policy fall back to the flags; manifests are relative to the file."""
    path = write(
        tmp_path,
        "accounts:\n"
        "  - subject: alice@example.com\n"
        "    manifests: alice\n"
        "  - subject: bob@example.com\n"
        "    manifests: [/abs/bob, shared]\n"
        "    owner: repo-x\n"
        "    suspend: true\n"
        "    driftPolicy: report\n",
    )
    config = load_accounts(path, default_owner="ops", drift_policy=DriftPolicy.IGNORE)
    alice, bob = config.accounts
    assert alice.subject == "alice@example.com"
    assert alice.manifests == (tmp_path / "alice",)
    assert alice.owner == "ops"
    assert alice.drift_policy is DriftPolicy.IGNORE
    assert not alice.suspend
    assert bob.manifests == (Path("/abs/bob"), tmp_path / "shared")
    assert bob.owner == "repo-x"
    assert bob.suspend
    assert bob.drift_policy is DriftPolicy.REPORT
    assert not config.suspend
    assert alice.key == "alice@example.com"


def test_a_controller_wide_suspend_is_read(tmp_path: Path) -> None:
    """A top-level suspend switch suspends the whole controller."""
    path = write(tmp_path, "suspend: true\naccounts:\n  - {subject: a@x.io, manifests: m}\n")
    assert load_accounts(path, default_owner="o", drift_policy=DriftPolicy.CORRECT).suspend


def test_an_unknown_key_is_located_where_it_is_written(tmp_path: Path) -> None:
    """A typo names its line and column and lists the keys that are allowed."""
    path = write(
        tmp_path,
        "accounts:\n  - subject: alice@example.com\n    manifests: m\n    drift_policy: report\n",
    )
    with pytest.raises(AccountsError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:4:5: accounts.0.drift_policy:")
    assert "allowed keys are subject, manifests" in message


def test_a_bad_drift_policy_is_located_at_its_value(tmp_path: Path) -> None:
    """A drift policy outside correct|report|ignore points at the value and lists the choices."""
    path = write(
        tmp_path,
        "accounts:\n  - subject: alice@example.com\n    manifests: m\n    driftPolicy: fix\n",
    )
    with pytest.raises(AccountsError) as caught:
        load(path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.col) == (4, 18)
    assert "use one of correct, report, ignore" in str(problem)


def test_a_missing_field_and_a_bad_subject_are_both_reported(tmp_path: Path) -> None:
    """Every problem is reported at once, not just the first."""
    path = write(tmp_path, "accounts:\n  - subject: alice\n")
    with pytest.raises(AccountsError) as caught:
        load(path)
    messages = [p.message for p in caught.value.problems]
    assert any("accounts.0.subject" in m for m in messages)
    assert any("accounts.0.manifests" in m for m in messages)
    assert all(p.line >= 2 for p in caught.value.problems)


def test_a_subject_listed_twice_is_refused(tmp_path: Path) -> None:
    """Two entries for one mailbox would mean two writers; the second one is pointed at."""
    path = write(
        tmp_path,
        "accounts:\n  - {subject: a@x.io, manifests: m}\n  - {subject: A@x.io, manifests: n}\n",
    )
    with pytest.raises(AccountsError, match=r":3:15: subject 'A@x.io' is listed twice"):
        load(path)


def test_broken_yaml_is_located(tmp_path: Path) -> None:
    """A YAML syntax error names where the parser stopped."""
    path = write(tmp_path, "accounts:\n  - subject: [unclosed\n")
    with pytest.raises(AccountsError, match=r"accounts.yaml:\d+:\d+: not valid YAML"):
        load(path)


def test_an_empty_or_missing_file_is_explained(tmp_path: Path) -> None:
    """No accounts at all (neither listed nor from the directory), or no file, is an error
    that says so."""
    with pytest.raises(AccountsError, match="1:1: no accounts and no directory entry"):
        load(write(tmp_path, ""))
    with pytest.raises(AccountsError, match="cannot read the accounts file"):
        load(tmp_path / "absent.yaml")


def test_without_a_file_there_is_one_account_for_the_token_user() -> None:
    """`reconciler run PATH` reconciles the token's own address book from PATH."""
    config = single_account(["m1", "m2"], owner="me", drift_policy=DriftPolicy.REPORT)
    (account,) = config.accounts
    assert account.subject is None
    assert account.key == "default"
    assert account.manifests == (Path("m1"), Path("m2"))
    assert account.drift_policy is DriftPolicy.REPORT


def test_notification_urls_take_their_secrets_from_the_environment(tmp_path: Path) -> None:
    """``${NAME}`` in a notify URL is filled from the environment when the file is read."""
    path = write(
        tmp_path,
        "accounts:\n  - {subject: a@x.io, manifests: m}\n"
        "notify:\n  - json://hooks.example.com/${HOOK}\n  - mailtos://$${literal}@example.com\n",
    )
    config = load_accounts(
        path, default_owner="o", drift_policy=DriftPolicy.CORRECT, environ={"HOOK": "s3cret"}
    )
    assert config.notify == ("json://hooks.example.com/s3cret", "mailtos://${literal}@example.com")


def test_a_notification_secret_missing_from_the_environment_is_located(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "accounts:\n  - {subject: a@x.io, manifests: m}\nnotify:\n  - slack://${SLACK}/#ops\n",
    )
    with pytest.raises(AccountsError) as caught:
        load_accounts(path, default_owner="o", drift_policy=DriftPolicy.CORRECT, environ={})
    assert str(caught.value).startswith(
        f"{path}:4:5: notify[0]: the environment variable 'SLACK' is not set"
    )
    assert "from a Secret" in str(caught.value)
