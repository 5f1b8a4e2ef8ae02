"""Property tests: for random desired and live states, executing the plan converges.

Each example builds a live address book by applying an earlier random manifest set, lets the
world drift (edits on a phone, other apps' clientData, other owners' contacts, unstamped
contacts, equivalent re-formatting of phone numbers and emails, reordered lists), then plans a
new random manifest set and executes it in memory. Then:

- every field a manifest declares is equal (normalised) to the manifest;
- every field the reconciler does not manage is unchanged, byte for byte;
- contacts it does not own (and did not adopt) are unchanged, byte for byte;
- other apps' clientData and memberships of groups we do not own survive;
- a second plan is empty.
"""

from __future__ import annotations

import copy
import os
import unicodedata
from typing import Any

from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from reconciler.diff import membership_groups
from reconciler.model import Normalizer, foreign_entries, read_stamp
from reconciler.model.normalize import clean_entry
from reconciler.plan import PlanOptions, build_plan
from tests.support.manifests import Contact, Group, contact, desired, group
from tests.support.persons import stamp
from tests.support.simulate import Book, simulate

OWNER = "repo"
FAMILY = "contactGroups/family"  # a group someone else made
PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("CORE_PROPERTY_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)

# Each inner list holds spellings of one value that must compare equal.
PHONES = [
    ["+16505550100", "(650) 555-0100", "650.555.0100", "+1 650-555-0100"],
    ["+442079460958", "+44 20 7946 0958", "+44 (0)20 7946 0958"],
    ["+16505550199", "(650) 555-0199", "1-650-555-0199"],
]
GIVEN = [
    ["José", unicodedata.normalize("NFD", "José")],
    ["Zoë", unicodedata.normalize("NFD", "Zoë")],
    ["Ana"],
    ["李小龍"],
]
ORGS = [
    {"name": "Acme", "title": "CTO"},
    {"name": "Globex"},
    {"name": "Initech", "department": "IT"},
]
URLS = ["https://a.example", "https://b.example/ü"]
TYPES = ["work", "home", "Work", "mobile"]


def spell(options: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(options)


def email(contact_index: int, k: int) -> st.SearchStrategy[str]:
    base = f"c{contact_index}.{k}@example.com"
    return st.sampled_from([base, base.upper(), base.title()])


@st.composite
def entries(draw: st.DrawFn, field: str, index: int) -> list[dict[str, Any]]:
    """A random value of ``field`` for contact ``index``, in some spelling."""
    if field == "names":
        family = draw(st.sampled_from(["Ng", "Ñúñez"]) | st.text(max_size=6))
        return [{"givenName": draw(spell(draw(st.sampled_from(GIVEN)))), "familyName": family}]
    if field == "organizations":
        return draw(
            st.lists(st.sampled_from(ORGS), max_size=2, unique_by=lambda o: o["name"]).map(
                copy.deepcopy
            )
        )
    out = []
    for k in draw(st.lists(st.integers(0, 2), max_size=2, unique=True)):
        if field == "phoneNumbers":
            value = draw(spell(PHONES[k]))
        elif field == "emailAddresses":
            value = draw(email(index, k))
        else:
            value = URLS[k % len(URLS)]
        entry = {"value": value}
        if draw(st.booleans()):
            entry["type"] = draw(st.sampled_from(TYPES))
        out.append(entry)
    return out


FIELDS = ["names", "emailAddresses", "phoneNumbers", "organizations", "urls"]


@st.composite
def manifests(draw: st.DrawFn, *, adopt: bool) -> tuple[list[Contact], list[Group]]:
    groups = [group(f"g{i}", f"Group {i}") for i in draw(st.sets(st.integers(0, 2)))]
    contacts = []
    # Earlier manifests use c0..c3; later ones may add c4, c5, which unstamped contacts match.
    top = 5 if adopt else 3
    for index in sorted(draw(st.sets(st.sampled_from(range(top + 1)), max_size=5))):
        fields = {f: draw(entries(f, index)) for f in draw(st.sets(st.sampled_from(FIELDS)))}
        annotations = {}
        if draw(st.booleans()) and draw(st.booleans()):
            annotations["reconciler/prune"] = "false"
        if adopt and draw(st.booleans()):
            annotations["reconciler/adopt"] = "email"
            emails = [e for e in fields.get("emailAddresses", []) if ".0@" not in e["value"]]
            fields["emailAddresses"] = [*emails, {"value": draw(email(index, 0))}]
        member_of = tuple(g.name for g in groups if draw(st.booleans()))
        contacts.append(contact(f"c{index}", groups=member_of, annotations=annotations, **fields))
    return contacts, groups


def respell(field: str, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same value as a person would retype it: other phone format, other case, reordered."""
    out = copy.deepcopy(value)
    for entry in out:
        v = entry.get("value")
        if field == "phoneNumbers":
            for spellings in PHONES:
                canonical = {
                    Normalizer().canonical("phoneNumbers", [{"value": s}]) for s in spellings
                }
                if Normalizer().canonical("phoneNumbers", [{"value": v}]) in canonical:
                    entry["value"] = spellings[-1]
        if field == "emailAddresses" and isinstance(v, str):
            entry["value"] = v.swapcase()
    return list(reversed(out))


@st.composite
def drifted_book(draw: st.DrawFn, previous: tuple[list[Contact], list[Group]]) -> Book:
    """A book that ``previous`` was applied to, then edited by the rest of the world."""
    book = Book()
    book.groups[FAMILY] = {
        "resourceName": FAMILY,
        "etag": "f",
        "name": "Family",
        "groupType": "USER_CONTACT_GROUP",
    }
    book = simulate(
        build_plan(
            desired(*previous[0], groups=tuple(previous[1])), book.state(), PlanOptions(OWNER)
        ),
        book,
    )
    for n, person in enumerate(list(book.people.values())):
        edits = draw(
            st.sets(st.sampled_from(["nickname", "respell", "overwrite", "crm", "family", "drop"]))
        )
        stamp_ = read_stamp(person["clientData"])
        assert stamp_ is not None
        if "nickname" in edits:
            person["nicknames"] = [{"value": f"nick{n}"}]
        managed = sorted(f for f in stamp_.fields if f in person)
        if "respell" in edits and managed:
            field = draw(st.sampled_from(managed))
            person[field] = respell(field, person[field])
        if "overwrite" in edits and managed:
            person[draw(st.sampled_from(managed))] = [{"value": "changed on a phone"}]
        if "drop" in edits and managed:
            del person[draw(st.sampled_from(managed))]
        if "crm" in edits:
            person["clientData"].insert(0, {"key": "crm.id", "value": str(n)})
        if "family" in edits:
            person["memberships"].append(
                {"contactGroupMembership": {"contactGroupResourceName": FAMILY}}
            )
        person["etag"] = f"drift-{n}"
    for index in draw(st.sets(st.sampled_from(range(2, 6)), max_size=3)):
        rn = f"people/u{index}"
        book.people[rn] = {
            "resourceName": rn,
            "etag": f"u{index}",
            "emailAddresses": [{"value": f"C{index}.0@example.com"}],
            "nicknames": [{"value": "mine"}],
            "memberships": [
                {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/myContacts"}}
            ],
        }
    for index in draw(st.sets(st.integers(0, 5), max_size=2)):
        rn = f"people/o{index}"
        book.people[rn] = {
            "resourceName": rn,
            "etag": f"o{index}",
            "emailAddresses": [{"value": f"c{index}.1@example.com"}],
            "clientData": stamp("someone-else", f"c{index}", "emailAddresses"),
            "memberships": [
                {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/myContacts"}}
            ],
        }
    return book


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[tuple[list[Contact], list[Group]], Book, PlanOptions]:
    previous = draw(manifests(adopt=False))
    book = draw(drifted_book(previous))
    wanted = draw(manifests(adopt=True))
    options = PlanOptions(
        owner=OWNER, prune=draw(st.booleans()), allow_mass_delete=True, allow_empty_desired=True
    )
    return wanted, book, options


def ours(book: Book) -> dict[str, dict[str, Any]]:
    found = {}
    for person in book.people.values():
        s = read_stamp(person.get("clientData"))
        if s is not None and s.owner == OWNER:
            found[s.name] = person
    return found


def cleaned(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((clean_entry(e) for e in entries), key=repr)


@PROPERTY_SETTINGS
@given(scenarios())
def test_executing_a_plan_converges_and_touches_nothing_else(
    scenario: tuple[tuple[list[Contact], list[Group]], Book, PlanOptions],
) -> None:
    """Managed fields match the manifests, the rest is untouched, and a second plan is empty."""
    (contacts, groups), before, options = scenario
    want = desired(*contacts, groups=tuple(groups))
    plan = build_plan(want, before.state(), options)
    for action in {item.action.value for item in plan.items}:
        event(f"plan has {action}")
    after = simulate(plan, before)
    normalizer = Normalizer(options.default_region)
    mine_after = ours(after)
    mine_before = {p["resourceName"]: p for p in ours(before).values()}
    group_rns = {
        s.name: rn
        for rn, g in after.groups.items()
        if (s := read_stamp(g.get("clientData"))) is not None and s.owner == OWNER
    }
    owned_groups = set(group_rns.values()) | {
        rn
        for rn, g in before.groups.items()
        if (s := read_stamp(g.get("clientData"))) is not None and s.owner == OWNER
    }
    for spec in contacts:
        person = mine_after[spec.name]
        for field, value in spec.spec.fields.items():
            assert normalizer.equal(field, value, person.get(field)), (spec.name, field)
        member_of = set(membership_groups(person))
        assert {group_rns[g] for g in spec.spec.groups} <= member_of
        assert not (member_of & set(group_rns.values())) - {group_rns[g] for g in spec.spec.groups}
        old = before.people.get(person["resourceName"])
        if old is None:
            continue
        old_stamp = read_stamp(old.get("clientData"))
        previous = (
            old_stamp.fields if old_stamp is not None and old_stamp.owner == OWNER else frozenset()
        )
        for field in set(old) | set(person):
            if (
                field in spec.spec.fields
                or field in previous
                or field in {"clientData", "memberships", "etag"}
            ):
                continue
            assert old.get(field) == person.get(field), (spec.name, field)
        theirs = cleaned(foreign_entries(old.get("clientData")))
        assert all(e in cleaned(person["clientData"]) for e in theirs)
        unowned = set(membership_groups(old)) - owned_groups
        assert unowned <= member_of
    adopted = {p["resourceName"] for p in mine_after.values()} - set(mine_before)
    for rn, old in before.people.items():
        if rn not in mine_before and rn not in adopted:
            assert after.people.get(rn) == old, rn
    wanted_names = {c.name for c in contacts}
    for name_, old in ours(before).items():
        gone = name_ not in wanted_names
        protected = not read_stamp(old["clientData"]).prunable  # type: ignore[union-attr]
        assert (old["resourceName"] in after.people) == (not gone or not options.prune or protected)
    assert build_plan(want, after.state(), options).empty


@PROPERTY_SETTINGS
@given(manifests(adopt=False))
def test_a_plan_after_an_apply_is_empty(manifest_set: tuple[list[Contact], list[Group]]) -> None:
    """From an empty book: apply once, and the next plan has nothing to do."""
    want = desired(*manifest_set[0], groups=tuple(manifest_set[1]))
    book = simulate(build_plan(want, Book().state()), Book())
    assert build_plan(want, book.state()).empty
