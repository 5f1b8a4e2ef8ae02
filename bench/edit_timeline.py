"""Where each manifest edit of a ``domain.py`` run spent its time, read from the controller's log.

``domain.py --keep-log LOG --run-arg=-vv`` keeps the controller's JSON log (with the debug lines:
each request's time, each wait for the pacer's tokens, the watcher's first event of a burst)
and prints when each edit was made. Given both, this prints per edit, in seconds from the edit:
the watcher's first event, the debounced reload ("manifests changed"), the reload done, and then
for each pass of that account until the edit was live: its wait for a pass slot, its own
reload, its requests (listing, writes, lease) with their waits for tokens, and its end.
Last, the median and the largest of each part over the edits whose pass ran after the edit
was heard (without ``-vv`` the parts a pass logs itself are still there).

    python bench/edit_timeline.py LOG BENCH_OUTPUT
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

EDIT = re.compile(r"edit\s+(\d+) at (\d\d:\d\d:\d\d\.\d+) UTC, (\S+) \((\w+)\): ([\d.]+) s")


def parse_log(path: Path) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """The log's date, and its lines by account (with ``t``: seconds since midnight UTC)."""
    by_account: dict[str, list[dict[str, Any]]] = defaultdict(list)
    day = ""
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        stamp = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
        day = day or stamp.date().isoformat()
        midnight = stamp.replace(hour=0, minute=0, second=0, microsecond=0)
        entry["t"] = (stamp - midnight).total_seconds()
        if "account" in entry:
            by_account[entry["account"]].append(entry)
    return day, by_account


def seconds(clock: str) -> float:
    h, m, s = clock.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def timeline(made: float, took: float, lines: list[dict[str, Any]]) -> list[str]:
    """What the account logged from the edit until it was live."""
    out: list[str] = []
    live = made + took
    requests: list[str] = []
    paced = 0.0
    for entry in lines:
        at = entry["t"] - made
        if entry["t"] < made - 0.01 or entry["t"] > live + 0.5:
            continue
        event = entry["event"]
        if event == "people.request":
            requests.append(f"{entry['method'].removeprefix('people.')} {entry['took']:.2f}")
        elif event == "people.paced":
            paced += entry["waited"]
            requests.append(f"[tokens {'w' if entry['write'] else 'r'} {entry['waited']:.2f}]")
        elif event in ("manifests touched", "manifests changed", "manifests loaded"):
            out.append(f"  {at:6.2f}  {event}")
        elif event == "pass finished":
            if requests:
                out.append(f"          requests: {', '.join(requests)}")
            requests = []
            out.append(
                f"  {at:6.2f}  pass finished {entry.get('triggers')}: slot wait "
                f"{entry.get('slot_wait')}, reload {entry.get('load', '-')}, took "
                f"{entry.get('took')} of which tokens {entry.get('paced')}; "
                f"created {entry.get('created')}, updated {entry.get('updated')}"
            )
    if requests:
        out.append(f"          requests (after the last pass): {', '.join(requests)}")
    return out


PARTS = (
    ("heard", "the edit to the watcher's first event (-vv only)"),
    ("debounced", "the edit to the debounced reload"),
    ("reloaded", "that reload"),
    ("waited", "the reload to the edit's pass starting (a pass under way, a slot)"),
    ("slot", "of which waiting for a slot (after the reload)"),
    ("pass", "the edit's pass, start to end"),
    ("tokens", "the account's calls' waits for tokens meanwhile (its polls' too)"),
    ("seen", "its end to the edit seen live (a later pass; the bench polls every 0.25 s)"),
)


def parts(made: float, took: float, lines: list[dict[str, Any]]) -> dict[str, float]:
    """The parts of one edit's time (see ``PARTS``), as far as the log tells them."""
    live = made + took
    found: dict[str, float] = {}
    loaded_at = None
    for entry in lines:
        if entry["t"] < made - 0.01 or entry["t"] > live + 0.5:
            continue
        event, at = entry["event"], entry["t"] - made
        if event == "manifests touched" and "heard" not in found:
            found["heard"] = at
        elif event == "manifests changed" and "debounced" not in found:
            found["debounced"] = at
        elif event == "manifests loaded" and "debounced" in found and loaded_at is None:
            loaded_at = at
            found["reloaded"] = at - found["debounced"]
        elif event == "pass finished" and loaded_at is not None and "took" in entry:
            start = at - entry["took"]
            if start < loaded_at - entry.get("slot_wait", 0.0) - 0.01:
                continue  # a pass that began before the edit was read: not the edit's
            found["waited"] = start - loaded_at
            found["slot"] = max(0.0, min(entry.get("slot_wait", 0.0), start - loaded_at))
            found["pass"] = entry["took"]
            found["tokens"] = entry.get("paced", 0.0)
            found["seen"] = took - at
            break
    return found


def summary(rows: list[dict[str, float]]) -> list[str]:
    out = [f"parts of the {len(rows)} edits whose own pass was found (median / max, seconds):"]
    for key, what in PARTS:
        values = sorted(row[key] for row in rows if key in row)
        if values:
            median = values[len(values) // 2]
            out.append(f"  {what:<72}{median:6.2f} / {values[-1]:6.2f}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("bench_output", type=Path)
    args = parser.parse_args()
    _, by_account = parse_log(args.log)
    rows = []
    for match in EDIT.finditer(args.bench_output.read_text()):
        index, clock, user, state, took = match.groups()
        made = seconds(clock)
        print(f"edit {index} in {user} ({state}): live after {took} s")
        for line in timeline(made, float(took), by_account.get(user, [])):
            print(line)
        found = parts(made, float(took), by_account.get(user, []))
        if "pass" in found:
            rows.append(found)
    print("\n".join(summary(rows)))


if __name__ == "__main__":
    main()
