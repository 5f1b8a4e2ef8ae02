"""Benchmark: load + validate manifests against the floor of a bare C YAML parse.

Generates 10,000 and 50,000 realistic contacts (names, emails, phones in several national
formats, organizations, addresses, birthdays, groups) spread over many files, then prints for
each size the wall-clock and CPU time of ``reconciler.manifest.load`` (best of a few runs; the
ratio is of CPU times, which a busy machine disturbs less), the CPU time of a reload of the
unchanged tree (what the controller pays after each change), its peak Python memory
(tracemalloc, measured in a separate run so it does not slow the timed ones), and the time of
``yaml.load_all(..., Loader=CSafeLoader)`` over the same files: the floor any YAML-based loader
pays before validating anything.

    python bench/load.py [--sizes 10000,50000] [--per-file 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import yaml

from reconciler.manifest import load
from reconciler.manifest.fields import phone_problem
from reconciler.manifest.parsing import clear_cache

GROUPS = ("engineering", "sales", "support", "finance", "board")
PHONES = (
    "+1 650 555 {n:04d}",
    "(415) 555-{n:04d}",
    "650.555.{n:04d}",
    "+44 20 7946 {n4:04d}",
    "+49 30 5555{n:04d}",
)


def contact(i: int) -> str:
    n = i % 10000
    n4 = i % 1000
    lines = [
        "apiVersion: reconciler/v1",
        "kind: Contact",
        "metadata:",
        f"  name: person-{i}",
        f"  labels: {{team: {GROUPS[i % len(GROUPS)]}}}",
        "spec:",
        f"  names: [{{givenName: Given{i}, familyName: Family{i % 997}}}]",
        "  emailAddresses:",
        f"    - {{value: person{i}@example.com, type: work}}",
    ]
    if i % 3 == 0:
        lines.append(f"    - person{i}.home@example.org")
    lines += [
        "  phoneNumbers:",
        f'    - {{value: "{PHONES[i % len(PHONES)].format(n=n, n4=n4)}", type: mobile}}',
        "  organizations:",
        f"    - {{name: Example Corp, title: Engineer {i % 7}, department: R&D}}",
    ]
    if i % 2 == 0:
        lines += [
            "  addresses:",
            f"    - streetAddress: {i} Main Street",
            "      city: Springfield",
            "      postalCode: '94000'",
            "      countryCode: US",
            "      type: work",
        ]
    if i % 4 == 0:
        lines.append(
            f"  birthdays: [{{date: {{year: 1980, month: {i % 12 + 1}, day: {i % 28 + 1}}}}}]"
        )
    lines.append(f"  groups: [{GROUPS[i % len(GROUPS)]}]")
    return "\n".join(lines) + "\n"


def group(name: str) -> str:
    return (
        f"apiVersion: reconciler/v1\nkind: ContactGroup\nmetadata: {{name: {name}}}\n"
        f"spec: {{name: {name.title()}}}\n"
    )


def generate(root: Path, count: int, per_file: int) -> None:
    (root / "groups.yaml").write_text("---\n".join(group(g) for g in GROUPS), encoding="utf-8")
    for start in range(0, count, per_file):
        folder = root / f"team-{start // (per_file * 20):03d}"
        folder.mkdir(exist_ok=True)
        body = "---\n".join(contact(i) for i in range(start, min(start + per_file, count)))
        (folder / f"contacts-{start:06d}.yaml").write_text(body, encoding="utf-8")


def floor(root: Path) -> int:
    documents = 0
    for path in sorted(root.rglob("*.yaml")):
        documents += sum(1 for _ in yaml.load_all(path.read_bytes(), Loader=yaml.CSafeLoader))
    return documents


def best_of(repeat: int, run: Callable[[], object], *, cold: bool = True) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of ``repeat`` runs (CPU is steadier on a busy box).

    ``cold`` empties the loader's caches first, as for a first load; a reload (what the
    controller does after each change) finds them warm.
    """
    wall, cpu = [], []
    for _ in range(repeat):
        if cold:
            phone_problem.cache_clear()
            clear_cache()
        gc.collect()
        started, started_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return min(wall), min(cpu)


def peak_memory(run: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def measure(size: int, per_file: int, repeat: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, size, per_file)
        result = load([root])
        assert result.ok, result.errors[:3]
        assert len(result.contacts) == size
        del result
        files = list(root.rglob("*.yaml"))
        megabytes = sum(p.stat().st_size for p in files) / 2**20
        floor_wall, floor_cpu = best_of(repeat, lambda: floor(root))
        load_wall, load_cpu = best_of(repeat, lambda: load([root]))
        _, reload_cpu = best_of(repeat, lambda: load([root]), cold=False)
        phone_problem.cache_clear()
        clear_cache()
        peak = peak_memory(lambda: load([root])) / 2**20
    return (
        f"{size:>9} {len(files):>6} {megabytes:>6.1f} {floor_wall:>8.2f} {load_wall:>8.2f} "
        f"{floor_cpu:>9.2f} {load_cpu:>9.2f} {load_cpu / floor_cpu:>6.2f} {reload_cpu:>10.2f} "
        f"{peak:>9.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--per-file", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{'contacts':>9} {'files':>6} {'MiB':>6} {'floor s':>8} {'load s':>8} "
        f"{'floor cpu':>9} {'load cpu':>9} {'ratio':>6} {'reload cpu':>10} {'peak MiB':>9}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        print(measure(size, args.per_file, args.repeat), flush=True)


if __name__ == "__main__":
    main()
