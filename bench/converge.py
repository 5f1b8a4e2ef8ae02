"""Converging an address book: our apply against the floor and against a naive baseline.

Three phases over the emulator served on HTTP with ``--latency-ms`` (50 by default) per request:

1. empty -> N contacts in 10 groups;
2. every one of the N contacts updated (a new title);
3. pruning N/2 of them.

For each phase the script prints HTTP requests by method beside the floor the API's batch limits
allow (one listing page per 1000 contacts, the groups listing, one call per group create,
ceil(n/200) batch creates and updates, ceil(n/200) batchGets to re-read contacts right before
deleting them, ceil(n/500) batch deletes) plus what safety costs on top: three contact group
calls for the address book's write lease, and after creates one more listing (a page per 1000
contacts) that shows them before the apply returns. And beside a naive baseline run on the same
data in another address book of the same emulator: what Google's documentation examples do, one
call per contact (createContact; get then updateContact, retrying on a stale etag; list then
deleteContact). Then phase 2 is run again on a fresh book with ``--conflicts`` (20%) of the
contacts edited out of band between our listing and our writes, to show what conflicts cost:
the extra requests as a share of the clean update phase and of the clean three-phase run.

Both sides run unpaced (the emulator enforces no quota here), so wall time compares protocols,
not rate limits; with Google's quotas the baseline would be slower still.

    python bench/converge.py [--contacts 1000] [--latency-ms 50] [--conflicts 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import structlog
from contact_yaml import contact_doc
from request_floor import api_floor, lease, visibility

from reconciler.apply.engine import ApplySettings, converge
from reconciler.apply.executor import ItemResult
from reconciler.apply.gateway import ClientGateway
from reconciler.apply.journal import CreateJournal
from reconciler.apply.lease import Lease
from reconciler.apply.visibility import require_listed
from reconciler.emulator import BackgroundServer, EmulatorConfig, create_app
from reconciler.manifest import load
from reconciler.model import DesiredState, read_stamp
from reconciler.people import connect
from reconciler.people.pacing import PacingConfig
from reconciler.people.transport import ClientConfig
from reconciler.plan import PlanOptions

GROUPS = 10
UNPACED = ClientConfig(pacing=PacingConfig.uniform(1e6))


# -- data ----------------------------------------------------------------------------------------


def write_manifests(root: Path, contacts: range, title: str) -> DesiredState:
    """YAML manifests for ``contacts`` in GROUPS groups, loaded back through the real loader."""
    for old in root.glob("*.yaml"):
        old.unlink()
    docs = [
        f"apiVersion: reconciler/v1\nkind: ContactGroup\nmetadata: {{name: team-{g}}}\n"
        f"spec: {{name: Team {g}}}\n"
        for g in range(GROUPS)
    ]
    for i in contacts:
        docs.append(contact_doc(i, title=title, group=f"team-{i % GROUPS}"))
    (root / "book.yaml").write_text("---\n".join(docs), encoding="utf-8")
    loaded = load([root])
    if loaded.errors:
        raise SystemExit("\n".join(str(e) for e in loaded.errors))
    return DesiredState(contacts=loaded.contacts, groups=loaded.groups)


def person_body(i: int, title: str, group: str) -> dict[str, Any]:
    return {
        "names": [{"givenName": f"Given{i}", "familyName": f"Family{i}"}],
        "emailAddresses": [{"value": f"person{i}@example.com", "type": "work"}],
        "organizations": [{"name": "Acme", "title": title}],
        "memberships": [{"contactGroupMembership": {"contactGroupResourceName": group}}],
    }


# -- our apply -----------------------------------------------------------------------------------


class EditingGateway(ClientGateway):
    """Edits ``share`` of the listed contacts out of band (a biography, as on a phone) right
    before our first update: after we listed and planned them, before we write."""

    def __init__(self, client: Any, admin: httpx.AsyncClient, user: str, share: float) -> None:
        super().__init__(client)
        self.admin, self.user, self.share, self.edited = admin, user, share, 0
        self.listed: list[str] = []

    async def list_people(self) -> tuple[list[dict[str, Any]], bool]:
        people, complete = await super().list_people()
        self.listed = sorted(str(p["resourceName"]) for p in people)
        return people, complete

    async def batch_update(
        self, bodies: Mapping[str, dict[str, Any]], mask: Sequence[str]
    ) -> dict[str, ItemResult]:
        if self.share and not self.edited:
            for name in self.listed[:: max(1, round(1 / self.share))]:
                await self.admin.post(
                    "/__emulator/edit",
                    json={
                        "user": self.user,
                        "resourceName": name,
                        "person": {"biographies": [{"value": "edited on a phone"}]},
                        "updatePersonFields": "biographies",
                    },
                )
                self.edited += 1
        return await super().batch_update(bodies, mask)


async def ours(
    url: str, user: str, desired: DesiredState, journal: Path, *, prune: bool, conflicts: float = 0
) -> tuple[Counter[str], float, bool, int]:
    async with (
        connect(url, token=f"user:{user}", config=UNPACED) as client,
        httpx.AsyncClient(base_url=url) as admin,
    ):
        gateway = EditingGateway(client, admin, user, conflicts)
        settings = ApplySettings(
            plan=PlanOptions(prune=prune, max_delete_share=1.0, max_deletes=10**6)
        )
        started = time.perf_counter()
        # What `reconciler apply` does: hold the address book's lease, converge, and return
        # only once a listing shows the creates.
        lease = Lease(
            client, lock_path=journal.with_suffix(".lock"), instance="bench", holder="bench"
        )
        with CreateJournal(journal) as j:
            async with lease.held():
                result = await converge(gateway, j, desired, settings)
                await require_listed(gateway, j, result)
        elapsed = time.perf_counter() - started
        return Counter(client.stats.requests), elapsed, result.converged, gateway.edited


# -- the naive baseline --------------------------------------------------------------------------

FIELDS = "names,emailAddresses,organizations,memberships,clientData"


class Naive:
    """One call per contact, sequentially, as the documentation's examples do."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.requests: Counter[str] = Counter()

    async def call(self, method: str, verb: str, path: str, **kwargs: Any) -> httpx.Response:
        self.requests[method] += 1
        return await self.http.request(verb, path, **kwargs)

    async def create(self, contacts: range, title: str) -> dict[int, str]:
        groups = []
        for g in range(GROUPS):
            answer = await self.call(
                "contactGroups.create", "POST", "v1/contactGroups",
                json={"contactGroup": {"name": f"Team {g}"}},
            )  # fmt: skip
            groups.append(answer.json()["resourceName"])
        names = {}
        for i in contacts:
            answer = await self.call(
                "people.createContact", "POST", "v1/people:createContact",
                json=person_body(i, title, groups[i % GROUPS]),
            )  # fmt: skip
            names[i] = answer.json()["resourceName"]
        return names

    async def update(self, names: Mapping[int, str], title: str) -> None:
        for _i, name in names.items():
            for _attempt in range(5):
                got = await self.call(
                    "people.get", "GET", f"v1/{name}", params={"personFields": FIELDS}
                )
                person = got.json()
                person["organizations"] = [{"name": "Acme", "title": title}]
                answer = await self.call(
                    "people.updateContact", "PATCH", f"v1/{name}:updateContact",
                    params={"updatePersonFields": "organizations"}, json=person,
                )  # fmt: skip
                if answer.status_code != 400:
                    break

    async def prune(self, names: Sequence[str]) -> None:
        await self.call(
            "people.connections.list", "GET", "v1/people/me/connections",
            params={"personFields": "metadata", "pageSize": "1000"},
        )  # fmt: skip
        for name in names:
            await self.call("people.deleteContact", "DELETE", f"v1/{name}:deleteContact")


# -- report --------------------------------------------------------------------------------------


def floor(
    *, listed: int, groups_created: int, created: int, updated: int, deleted: int, first: bool
) -> int:
    """Requests one apply needs at least (``request_floor``): the API's share, the write lease
    (taken by creating its group on the ``first`` apply to the book) and the listing that shows
    the creates before the apply returns."""
    need = (
        api_floor(
            listed=listed,
            groups_created=groups_created,
            created=created,
            updated=updated,
            deleted=deleted,
        )
        + lease(group_exists=not first)
        + visibility(listed=listed, created=created)
    )
    return sum(need.values())


def show(
    phase: str, ours_: Counter[str], t_ours: float, fl: int, naive: Counter[str], t_naive: float
) -> None:
    total, n_total = sum(ours_.values()), sum(naive.values())
    print(f"\n== {phase}")
    print(f"  {'method':<34}{'ours':>8}{'naive':>8}")
    for method in sorted(set(ours_) | set(naive)):
        print(f"  {method:<34}{ours_.get(method, 0):>8}{naive.get(method, 0):>8}")
    print(f"  {'total requests':<34}{total:>8}{n_total:>8}   floor {fl}")
    print(f"  {'wall time (s)':<34}{t_ours:>8.2f}{t_naive:>8.1f}")
    print(
        f"  ours vs floor: {100 * (total - fl) / fl:+.1f}%   "
        f"naive/ours: {n_total / total:.0f}x requests, {t_naive / t_ours:.0f}x wall time"
    )


def show_conflict_cost(
    conflicting: Counter[str], clean: Counter[str], run: Counter[str] | None
) -> None:
    """The extra requests the conflicts cost, as a share of the clean update phase and of the
    clean three-phase run (the target is at most 10% extra)."""
    extra = sum(conflicting.values()) - sum(clean.values())
    bases = [("update phase", sum(clean.values()))]
    if run is not None:
        bases.append(("whole run (3 phases)", sum(run.values())))
    for what, base in bases:
        print(f"  extra requests, {what + ':':<22}{extra} of {base} = {100 * extra / base:.1f}%")


async def main(contacts: int, latency_ms: float, conflicts: float, conflicts_only: bool) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    app = create_app(EmulatorConfig(latency_ms=latency_ms))
    server = BackgroundServer(app).start()
    work = Path(tempfile.mkdtemp(prefix="bench-converge-"))
    try:
        print(f"emulator {server.url}, {latency_ms:g} ms latency, {contacts} contacts")
        all_ = range(contacts)
        kept = range(contacts // 2)
        v1 = write_manifests(work, all_, "Engineer")
        v2 = write_manifests(work, all_, "Director")
        v3 = write_manifests(work, kept, "Director")
        if conflicts_only:
            await ours(server.url, "conflicts@x", v1, work / "j2", prune=False)
            r2, *_ = await ours(server.url, "clean@x", v1, work / "j3", prune=False)
            r2, *_ = await ours(server.url, "clean@x", v2, work / "j3", prune=False)
            rc, tc, okc, edited = await ours(
                server.url, "conflicts@x", v2, work / "j2", prune=False, conflicts=conflicts
            )
            print(f"clean: {dict(r2)}\nconflicts ({edited} edited): {dict(rc)}, converged {okc}")
            show_conflict_cost(rc, r2, None)
            return

        # ours: three phases, each a fresh client (as three CLI runs would be)
        r1, t1, ok1, _ = await ours(server.url, "ours@x", v1, work / "j1", prune=False)
        r2, t2, ok2, _ = await ours(server.url, "ours@x", v2, work / "j1", prune=False)
        r3, t3, ok3, _ = await ours(server.url, "ours@x", v3, work / "j1", prune=True)

        # the naive baseline on the same data, in its own address book
        async with httpx.AsyncClient(
            base_url=server.url + "/", headers={"Authorization": "Bearer user:naive@x"},
            timeout=60,
        ) as http:  # fmt: skip
            naive = Naive(http)
            started = time.perf_counter()
            names = await naive.create(all_, "Engineer")
            n1, tn1 = Counter(naive.requests), time.perf_counter() - started
            naive.requests.clear()
            started = time.perf_counter()
            await naive.update(names, "Director")
            n2, tn2 = Counter(naive.requests), time.perf_counter() - started
            naive.requests.clear()
            started = time.perf_counter()
            await naive.prune([names[i] for i in range(contacts // 2, contacts)])
            n3, tn3 = Counter(naive.requests), time.perf_counter() - started

        f1 = floor(
            listed=0, groups_created=GROUPS, created=contacts, updated=0, deleted=0, first=True
        )
        f2 = floor(
            listed=contacts, groups_created=0, created=0, updated=contacts, deleted=0, first=False
        )
        deleted = contacts - contacts // 2
        f3 = floor(
            listed=contacts, groups_created=0, created=0, updated=0, deleted=deleted, first=False
        )
        show(f"1. empty -> {contacts} contacts in {GROUPS} groups", r1, t1, f1, n1, tn1)
        show(f"2. {contacts} updates", r2, t2, f2, n2, tn2)
        show(f"3. pruning {deleted}", r3, t3, f3, n3, tn3)
        total = r1 + r2 + r3
        n_total = n1 + n2 + n3
        fl = f1 + f2 + f3
        t_total, tn_total = t1 + t2 + t3, tn1 + tn2 + tn3
        show("all three phases", total, t_total, fl, n_total, tn_total)
        print(f"  converged: {ok1 and ok2 and ok3}")

        # conflicts: phase 2 again on a fresh book, with out-of-band edits mid-apply
        await ours(server.url, "conflicts@x", v1, work / "j2", prune=False)
        rc, tc, okc, edited = await ours(
            server.url, "conflicts@x", v2, work / "j2", prune=False, conflicts=conflicts
        )
        print(
            f"\n== 2'. {contacts} updates with {edited} contacts ({conflicts:.0%}) edited mid-apply"
        )
        for method in sorted(rc):
            print(f"  {method:<34}{rc[method]:>8}   (clean run: {r2.get(method, 0)})")
        show_conflict_cost(rc, r2, total)
        print(f"  wall {tc:.2f}s; converged: {okc}")
        await _check_no_duplicates(server.url)
    finally:
        server.stop()


async def _check_no_duplicates(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as admin:
        dump = (await admin.get("/__emulator/dump")).json()
    for user in ("ours@x", "conflicts@x"):
        names = Counter(
            stamp.name
            for p in dump["users"][user]["people"]
            if (stamp := read_stamp(p.get("clientData"))) is not None
        )
        dupes = sum(n - 1 for n in names.values())
        print(f"  {user}: {len(names)} managed contacts, {dupes} duplicates")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--conflicts", type=float, default=0.2)
    parser.add_argument(
        "--conflicts-only", action="store_true", help="Only the run with conflicting edits."
    )
    args = parser.parse_args()
    asyncio.run(main(args.contacts, args.latency_ms, args.conflicts, args.conflicts_only))
