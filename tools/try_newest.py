"""Run the suite against the newest release of every dependency, ignoring the lock.

The lock (``requirements/test.txt``) keeps CI reproducible; this shows a maintainer today what
tomorrow's releases will break. It builds a throwaway virtual environment, installs the package
with its test extra and no constraints (so pip takes the newest release each range allows),
prints what differs from the lock, and runs the README's test command inside it.

    python tools/try_newest.py            # keep the venv only while it runs
    python tools/try_newest.py --keep DIR # leave it in DIR to investigate a failure

Exit code: the test run's.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "test.txt"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        match = PIN.match(line.strip())
        if match:
            found[normalise(match[1])] = match[2]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="create the venv here and leave it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reconciler-newest-") as scratch:
        where = args.keep or Path(scratch) / "venv"
        venv.create(where, with_pip=True, clear=True)
        python = str(where / "bin" / "python")
        subprocess.run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
        subprocess.run(
            [python, "-m", "pip", "install", "-q", "--upgrade", "-e", f"{ROOT}[test]"], check=True
        )
        frozen = subprocess.run(
            [python, "-m", "pip", "freeze", "--exclude-editable"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
        locked, newest = pins(LOCK.read_text().splitlines()), pins(frozen)
        moved = sorted(
            (name, locked[name], version)
            for name, version in newest.items()
            if name in locked and locked[name] != version
        )
        print(f"{len(moved)} of {len(locked)} locked packages have a newer release installed:")
        for name, old, new in moved:
            print(f"  {name}: {old} -> {new}")
        done = subprocess.run([python, "-m", "pytest", "-q", "-n", "2"], cwd=ROOT, check=False)
        return done.returncode


if __name__ == "__main__":
    sys.exit(main())
