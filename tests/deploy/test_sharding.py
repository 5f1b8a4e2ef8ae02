"""Sharding: N replicas split the accounts so that each one has exactly one owner.

The assignment must not depend on the process, the order of the accounts config or anything but
the account key and the shard count, because replicas never talk to each other.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter

import pytest
import yaml

from reconciler.controller.sharding import (
    SINGLE,
    Shard,
    ShardSpecError,
    parse_shard,
    partition,
    pod_ordinal,
    shard_of,
)

ACCOUNTS = [f"user{n:05d}@example.com" for n in range(4000)]
# libyaml when present: the pure-Python parser takes seconds for a config this size.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def accounts_config(subjects: list[str], owner: str) -> str:
    """An accounts config file as ``reconciler run --config`` reads it."""
    accounts = [
        {"subject": s, "manifests": f"/manifests/{s.split('@')[0]}", "owner": owner}
        for s in subjects
    ]
    return yaml.dump({"accounts": accounts}, Dumper=DUMPER)


def assignment(config_text: str, count: int) -> dict[str, int]:
    """Subject -> shard index for every account of a config."""
    accounts = yaml.load(config_text, Loader=LOADER)["accounts"]
    return {a["subject"].lower(): shard_of(a["subject"], count) for a in accounts}


@pytest.mark.parametrize("count", [1, 2, 5, 16])
def test_every_account_has_exactly_one_owner(count: int) -> None:
    """With N shards each of a few thousand accounts is owned by one shard and only one."""
    shards = [Shard(index, count) for index in range(count)]
    owners: Counter[int] = Counter()
    for account in ACCOUNTS:
        owning = [shard for shard in shards if shard.owns(account)]
        assert len(owning) == 1, (account, owning)
        owners[owning[0].index] += 1
    assert sum(owners.values()) == len(ACCOUNTS)
    mean = len(ACCOUNTS) / count
    assert all(abs(owners[i] - mean) < 0.25 * mean for i in range(count)), owners


def test_partition_is_exact() -> None:
    """partition() puts every key under one shard; the parts are disjoint and cover the input."""
    parts = partition(ACCOUNTS, 7)
    assert sorted(parts) == list(range(7))
    flat = [key for part in parts.values() for key in part]
    assert sorted(flat) == sorted(ACCOUNTS)
    assert len(set(flat)) == len(flat)


def test_a_second_config_with_the_same_accounts_gives_the_same_assignment() -> None:
    """Order, case, other fields and the config file itself do not move an account."""
    accounts = ACCOUNTS[:2500]
    first = accounts_config(accounts, owner="repo-a")
    shuffled = accounts.copy()
    random.Random(7).shuffle(shuffled)
    second = accounts_config([f"  {s.upper()} " for s in shuffled], owner="repo-b")
    second_assignment = {k.strip(): v for k, v in assignment(second, 5).items()}
    assert assignment(first, 5) == second_assignment


def test_assignment_is_the_same_in_another_process() -> None:
    """The hash is not Python's salted hash(): a fresh interpreter agrees, whatever its seed."""
    sample = ACCOUNTS[:500]
    script = (
        "import json, sys\n"
        "from reconciler.controller.sharding import shard_of\n"
        "keys = json.load(sys.stdin)\n"
        "print(json.dumps([shard_of(k, 6) for k in keys]))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(sample),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(result.stdout) == [shard_of(k, 6) for k in sample]


def test_known_assignments_never_change() -> None:
    """Changing the hash would silently move every account of every deployment: pin it."""
    assert [shard_of(f"user{n}@example.com", 4) for n in range(8)] == PINNED


PINNED = [2, 3, 3, 1, 3, 1, 0, 0]


def test_adding_a_shard_only_moves_accounts_to_the_new_shard() -> None:
    """Growing from N to N+1 shards moves about 1/(N+1) of the accounts, all to shard N."""
    before = {a: shard_of(a, 4) for a in ACCOUNTS}
    after = {a: shard_of(a, 5) for a in ACCOUNTS}
    moved = [a for a in ACCOUNTS if before[a] != after[a]]
    assert all(after[a] == 4 for a in moved)
    assert 0.1 < len(moved) / len(ACCOUNTS) < 0.3


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("0/1", Shard(0, 1)), ("2/3", Shard(2, 3)), (" 1 / 4 ", Shard(1, 4)), ("", SINGLE)],
)
def test_explicit_shards_parse(spec: str, expected: Shard) -> None:
    """``I/N`` names shard I of N; an empty value means one shard that owns everything."""
    assert parse_shard(spec) == expected
    assert parse_shard(None) == SINGLE


def test_auto_reads_the_ordinal_from_the_pod_name() -> None:
    """``auto/N`` takes the index from POD_NAME, which the chart sets from metadata.name."""
    assert parse_shard("auto/3", environ={"POD_NAME": "contacts-reconciler-2"}) == Shard(2, 3)
    assert parse_shard("auto/3", pod_name="web.v2-reconciler-0") == Shard(0, 3)
    assert str(parse_shard("auto/12", pod_name="r-11")) == "11/12"


def test_auto_falls_back_to_the_hostname(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without POD_NAME the hostname, which a StatefulSet sets to the pod name, is used."""
    monkeypatch.setattr("socket.gethostname", lambda: "contacts-reconciler-1")
    assert parse_shard("auto/2", environ={}) == Shard(1, 2)


@pytest.mark.parametrize(
    ("spec", "pod", "message"),
    [
        ("3/3", None, "0 <= I < N"),
        ("0/0", None, "at least 1"),
        ("-1/3", None, "invalid --shard '-1/3'"),
        ("1", None, "I/N"),
        ("a/b", None, "I/N"),
        ("auto/3", "contacts-reconciler-3", "only 3 shards"),
        ("auto/3", "contacts-reconciler", "expected <statefulset>-<ordinal>"),
    ],
)
def test_bad_shard_values_are_explained(spec: str, pod: str | None, message: str) -> None:
    """A value that names no shard fails with a message that says what to write instead."""
    with pytest.raises(ShardSpecError, match=message.replace("(", r"\(")) as caught:
        parse_shard(spec, pod_name=pod)
    assert isinstance(caught.value, ValueError)


def test_a_shard_cannot_be_built_out_of_range() -> None:
    """Shard(I, N) refuses an index outside 0..N-1 and a count below 1."""
    with pytest.raises(ShardSpecError):
        Shard(2, 2)
    with pytest.raises(ShardSpecError):
        Shard(0, 0)
    with pytest.raises(ShardSpecError):
        shard_of("a@example.com", 0)
    assert pod_ordinal("contacts-reconciler-10") == 10
