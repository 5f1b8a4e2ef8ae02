"""Benchmark: plan time and peak memory for 10,000 and 50,000 contacts with 1% changed.

No network: the live state is built in memory the way the People API returns it after an apply
(``formattedType``, ``canonicalForm``, ``displayName``, ``unstructuredName``, entry
``metadata``, ownership stamps, memberships), and 1% of the manifests differ from it. The plan
must show exactly those changes and nothing else (the benchmark checks it, so a phantom change
fails it). ``--scrambled`` also makes the server reverse every list and lowercase every email,
which sends every comparison down the slow, fully normalising path (the worst case).
``--manifests`` builds the desired side from real ``reconciler.manifest`` resources (validated
pydantic specs) instead of plain stand-ins, so the time includes ``spec.person_fields()``.

Times are CPU time of the planning call (best of 3) and wall time; on a shared machine the CPU
time is the figure to compare.

    python bench/plan.py [--scrambled] [--manifests] [SIZES...]   # default sizes: 10000 50000
"""

from __future__ import annotations

import gc
import resource
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

from reconciler.model import DesiredState, LiveState
from reconciler.plan import PlanOptions, build_plan

GROUPS = 20
OWNER = "bench"


@dataclass(frozen=True)
class Spec:
    fields: dict[str, list[dict[str, Any]]]
    groups: tuple[str, ...] = ()

    def person_fields(self) -> dict[str, list[dict[str, Any]]]:
        return {name: [dict(entry) for entry in entries] for name, entries in self.fields.items()}


@dataclass(frozen=True)
class Contact:
    name: str
    spec: Spec
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupSpec:
    name: str


@dataclass(frozen=True)
class Group:
    name: str
    spec: GroupSpec


def manifest_fields(i: int, *, changed: bool) -> dict[str, list[dict[str, Any]]]:
    area = 200 + i % 700
    line = i % 10000
    return {
        "names": [{"givenName": f"Given{i}", "familyName": "Müller" if i % 3 else "Núñez"}],
        "emailAddresses": [
            {"value": f"Person{i}@Example.com", "type": "work"},
            {"value": f"p{i}@home.example"},
        ],
        "phoneNumbers": [
            {"value": f"({area}) 555-{(line + 1 if changed else line):04d}", "type": "mobile"}
        ],
        "organizations": [{"name": f"Org {i % 500}", "title": "Engineer"}],
    }


def server_entries(
    field_name: str, entries: list[dict[str, Any]], scrambled: bool
) -> list[dict[str, Any]]:
    out = []
    for n, entry in enumerate(entries):
        stored = dict(entry)
        stored["metadata"] = {"primary": n == 0, "source": {"type": "CONTACT", "id": "1"}}
        if "type" in stored:
            stored["formattedType"] = stored["type"].title()
        if field_name == "phoneNumbers":
            digits = "".join(ch for ch in stored["value"] if ch.isdigit())
            stored["canonicalForm"] = "+1" + digits
        if field_name == "names":
            stored["displayName"] = f"{stored['givenName']} {stored['familyName']}"
            stored["unstructuredName"] = stored["displayName"]
        if field_name == "emailAddresses" and scrambled:
            stored["value"] = stored["value"].lower()
        out.append(stored)
    return list(reversed(out)) if scrambled else out


def real_manifest(name: str, spec: Spec) -> Any:
    """The same contact as a validated manifest resource (what the loader hands the planner)."""
    from reconciler.manifest import ContactResource, ContactSpec

    document = {**spec.fields, "groups": list(spec.groups)}
    validated = ContactSpec.model_validate(document, strict=False)
    return ContactResource(name=name, spec=validated)


def make_inputs(
    n: int, changed_every: int = 100, *, scrambled: bool = False, manifests: bool = False
) -> tuple[DesiredState, LiveState]:
    groups = [Group(f"g{g}", GroupSpec(f"Group {g}")) for g in range(GROUPS)]
    live_groups = [
        {
            "resourceName": f"contactGroups/{g:x}",
            "etag": f"ge{g}",
            "name": f"Group {g}",
            "groupType": "USER_CONTACT_GROUP",
            "clientData": [
                {"key": "reconciler.owner", "value": OWNER},
                {"key": "reconciler.name", "value": f"g{g}"},
            ],
        }
        for g in range(GROUPS)
    ]
    contacts = []
    people = []
    for i in range(n):
        fields = manifest_fields(i, changed=i % changed_every == 0)
        member_of = (f"g{i % GROUPS}",)
        spec = Spec(fields, member_of)
        name = f"person-{i:06d}"
        contacts.append(real_manifest(name, spec) if manifests else Contact(name, spec))
        live_fields = manifest_fields(i, changed=False)
        person: dict[str, Any] = {
            "resourceName": f"people/c{i}",
            "etag": f"%EgYBAgMJ{i}",
            "metadata": {"sources": [{"type": "CONTACT", "id": f"{i:x}", "etag": "x"}]},
            **{name: server_entries(name, v, scrambled) for name, v in live_fields.items()},
            "clientData": [
                {"key": "reconciler.owner", "value": OWNER},
                {"key": "reconciler.name", "value": f"person-{i:06d}"},
                {"key": "reconciler.fields", "value": ",".join(sorted(live_fields))},
            ],
            "memberships": [
                {
                    "contactGroupMembership": {
                        "contactGroupResourceName": "contactGroups/myContacts"
                    }
                },
                {
                    "contactGroupMembership": {
                        "contactGroupResourceName": f"contactGroups/{i % GROUPS:x}",
                        "contactGroupId": f"{i % GROUPS:x}",
                    }
                },
            ],
        }
        people.append(person)
    return DesiredState(contacts, groups), LiveState(people, live_groups)


def measure(
    n: int, *, scrambled: bool, manifests: bool, repeats: int = 3
) -> tuple[float, float, float]:
    """Best CPU seconds, best wall seconds and peak traced MiB of planning ``n`` contacts."""
    desired, live = make_inputs(n, scrambled=scrambled, manifests=manifests)
    options = PlanOptions(owner=OWNER)
    best_cpu = best_wall = float("inf")
    for _ in range(repeats):
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        plan = build_plan(desired, live, options)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    summary = plan.summary()
    expected = len(range(0, n, 100))
    if (summary.change, summary.add, summary.destroy) != (expected, 0, 0):
        raise SystemExit(f"wrong plan for {n}: {summary} (expected {expected} changes)")
    gc.collect()
    tracemalloc.start()
    build_plan(desired, live, options)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best_cpu, best_wall, peak / 2**20


def main(argv: list[str]) -> None:
    scrambled = "--scrambled" in argv
    manifests = "--manifests" in argv
    sizes = [int(a) for a in argv if not a.startswith("--")] or [10_000, 50_000]
    mode = "scrambled (lists reversed, emails lowercased)" if scrambled else "as stored"
    source = "reconciler.manifest resources" if manifests else "plain stand-ins"
    print(f"live state: {mode}; desired state: {source}")
    results = {}
    for n in sizes:
        cpu, wall, peak_mib = measure(n, scrambled=scrambled, manifests=manifests)
        results[n] = cpu
        print(
            f"{n:>7,} contacts, 1% changed: plan {cpu * 1000:7.0f} ms CPU "
            f"({cpu / n * 1e6:5.1f} us/contact), {wall * 1000:7.0f} ms wall, "
            f"peak memory while planning {peak_mib:5.1f} MiB"
        )
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS (inputs included): {rss_mib:.0f} MiB")
    if 10_000 in results and 50_000 in results:
        ratio = results[50_000] / results[10_000]
        print(f"50,000 / 10,000 CPU time ratio: {ratio:.2f}x (target < 5.5x)")


if __name__ == "__main__":
    main(sys.argv[1:])
