"""Benchmark: address-book files to manifests and back, at the size of a real domain.

Generates a Google Contacts CSV of N contacts (names, two emails in one cell, phones in
several national formats, an address, a birthday, labels), then prints the wall-clock time
of each step of ``reconciler import`` (read, name + validate, lay out as YAML) and of the
exports (resources to Google CSV and to vCard, and vCard read back), with contacts per
second. Pure: no files are written and no API is called.

    python bench/formats.py [--sizes 1000,10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import time
from collections.abc import Callable
from typing import Any

from reconciler.formats import lay_out, read, to_manifests, write

HEADER = [
    "First Name", "Last Name", "Organization Name", "Birthday", "Labels",
    "E-mail 1 - Label", "E-mail 1 - Value", "Phone 1 - Label", "Phone 1 - Value",
    "Address 1 - Label", "Address 1 - Street", "Address 1 - City", "Address 1 - Postal Code",
]  # fmt: skip
PHONES = ("+1 650 555 {n:04d}", "(415) 555-{n:04d}", "+44 20 7946 {m:04d}", "+49 30 5555{n:04d}")
LABELS = ("* myContacts ::: Sales Team", "* myContacts ::: Engineering", "* myContacts")


def google_csv(size: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for i in range(size):
        n, m = i % 10000, i % 1000
        writer.writerow([
            f"Given{i}", f"Family{i}", f"Company {i % 50}",
            f"19{70 + i % 30}-0{1 + i % 9}-1{i % 9}",
            LABELS[i % 3], "Work", f"p{i}@example.com ::: p{i}@home.example", "Mobile",
            PHONES[i % 4].format(n=n, m=m), "Work", f"{i} Main St", "Springfield", f"{10000 + n}",
        ])  # fmt: skip
    return out.getvalue()


def best(repeat: int, step: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - start)
    return min(times), result


def measure(size: int, repeat: int) -> None:
    """Time each step for one size and print the figures."""
    text = google_csv(size)
    t_read, parsed = best(repeat, lambda: read(text, "book.csv"))
    t_check, result = best(repeat, lambda: to_manifests([parsed]))
    assert result.ok, result.errors[:3]
    contacts, groups = result.contacts, result.groups
    t_yaml, files = best(repeat, lambda: lay_out(contacts, groups))
    t_csv, _ = best(repeat, lambda: write("google-csv", contacts, groups))
    t_vcf, vcf = best(repeat, lambda: write("vcard", contacts, groups))
    t_back, _ = best(repeat, lambda: read(vcf.text, "book.vcf"))
    print(f"{size} contacts ({len(text) / 1e6:.1f} MB of CSV, {len(files)} YAML files):")
    for name, seconds in (
        ("read Google CSV", t_read),
        ("name + validate", t_check),
        ("lay out YAML", t_yaml),
        ("write Google CSV", t_csv),
        ("write vCard", t_vcf),
        ("read vCard", t_back),
    ):
        print(f"  {name:<18} {seconds:7.3f} s  {size / seconds:10.0f} contacts/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        measure(size, args.repeat)


if __name__ == "__main__":
    main()
