"""``reconciler apply`` killed with SIGKILL at random points, then re-run: converged, no duplicate.

Each round revises the manifests (a sliding window of contacts, so every round creates, updates
and prunes), starts ``reconciler apply`` against an emulator served over HTTP with some latency,
and kills it after a random short delay: before, during or after its creates, between a create
and the journal line that records it, mid-update, mid-delete. A final run without a kill must
converge, and the live book must hold each manifest exactly once.

The delays come from a seeded generator, but where they land depends on the machine's speed:
a failure shows each round's delay and what the final run and the plan printed (every child's
output is kept under the test's temporary directory).
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

from tests.support.cli import HttpEmulator, fork_cli
from tests.support.manifests import write_tree
from tests.support.pacing import roomy

ROUNDS = 24
TOKEN = "user:crash@example.com"


def test_sigkill_at_random_points_never_duplicates(
    tmp_path: Path, http_emulator: HttpEmulator
) -> None:
    """See the module docstring."""
    # Imported before forking, so that children start in milliseconds and the random delays
    # land in the apply itself rather than in imports.
    import reconciler.apply.engine
    import reconciler.cli.apply
    import reconciler.cli.plan
    import reconciler.manifest
    import reconciler.people.targets  # noqa: F401

    rng = random.Random(20261124)
    manifests = tmp_path / "manifests"
    common = [
        "--target", http_emulator.url, "--token", TOKEN, "--state", str(tmp_path / "state"),
        "--owner", "crash-test", "--prune", "--max-delete-share", "1",
    ]  # fmt: skip
    apply = ["apply", "--auto-approve", "--create-settle", "0.5", *common]
    logs = tmp_path / "logs"
    logs.mkdir()
    rounds: list[str] = []  # what each round did, for a failure to show
    killed = 0
    for round_ in range(ROUNDS):
        start = 2 * round_
        write_tree(manifests, range(start, start + 30), title=f"Title {round_}", groups=3)
        pid = fork_cli([*apply, str(manifests)], output=logs / f"round-{round_:02d}.log")
        delay = rng.uniform(0.0, 0.5)
        time.sleep(delay)
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
            fate = "killed"
        except ProcessLookupError:
            fate = "finished first"  # also a fine point to stop at
        _, status = os.waitpid(pid, 0)
        rounds.append(f"round {round_}: {fate} after {delay:.3f} s (status {status})")

    def report(name: str) -> str:
        return "\n".join([*rounds, f"--- {name} printed:", (logs / name).read_text()])

    final = range(2 * ROUNDS, 2 * ROUNDS + 30)
    write_tree(manifests, final, title="Final", groups=3)
    # Not killed: its pacing is beside the point.
    pid = fork_cli(roomy([*apply, str(manifests)]), output=logs / "final.log")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, report("final.log")
    pid = fork_cli(
        ["plan", "--detailed-exitcode", *common, str(manifests)], output=logs / "plan.log"
    )
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, report("plan.log")

    assert killed >= 20, "\n".join(rounds)
    people = http_emulator.admin("GET", "dump")["users"]["crash@example.com"]["people"]
    names = Counter(
        entry["value"]
        for person in people
        for entry in person.get("clientData", [])
        if entry["key"] == "reconciler.name"
    )
    assert set(names) == {f"person-{i:04d}" for i in final}, report("final.log")
    assert set(names.values()) == {1}, f"duplicates: {names}\n{report('final.log')}"
