"""Label selectors: Kubernetes syntax, and a selection that never acts outside itself."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.model import LiveState
from reconciler.plan import Action, PlanOptions, build_plan
from reconciler.plan.selector import SelectorError, parse_selector
from tests.core.factories import Contact, Spec, desired

OWNER = "reconciler"


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ("team=sales", {"team": "sales"}, True),
        ("team==sales", {"team": "ops"}, False),
        ("region!=west", {"region": "east"}, True),
        ("region!=west", {}, True),  # as in Kubernetes: a missing label is not west
        ("region!=west", {"region": "west"}, False),
        ("tier in (gold, silver)", {"tier": "silver"}, True),
        ("tier in (gold,silver)", {}, False),
        ("tier notin (free)", {}, True),
        ("tier notin (free)", {"tier": "free"}, False),
        ("vip", {"vip": ""}, True),
        ("vip", {}, False),
        ("!vip", {}, True),
        ("!vip", {"vip": "yes"}, False),
        ("team=sales,region!=west", {"team": "sales", "region": "west"}, False),
        ("team=sales, tier in (a,b), !vip", {"team": "sales", "tier": "b"}, True),
        ("", {"anything": "x"}, True),
        ("example.com/team=sales", {"example.com/team": "sales"}, True),
    ],
)
def test_kubernetes_selector_syntax(text: str, labels: dict[str, str], matches: bool) -> None:
    """Equality, inequality, set membership and existence, all of them required."""
    assert parse_selector(text).matches(labels) is matches


@pytest.mark.parametrize(
    ("text", "column"),
    [("team=sales,", 11), ("=sales", 1), ("tier in (a", 1), ("a=b c", 1), ("tier in (a,b c)", 10)],
)
def test_a_bad_selector_names_its_column(text: str, column: int) -> None:
    """The error says where the selector stops making sense and what it should look like."""
    with pytest.raises(SelectorError) as caught:
        parse_selector(text)
    assert caught.value.column == column
    assert "team=sales" in str(caught.value)


def stamped(name: str, labels: str = "", resource: str | None = None) -> dict[str, object]:
    client_data = [
        {"key": "reconciler.owner", "value": OWNER},
        {"key": "reconciler.name", "value": name},
        {"key": "reconciler.fields", "value": "names"},
    ]
    if labels:
        client_data.append({"key": "reconciler.labels", "value": labels})
    return {
        "resourceName": resource or f"people/{name}",
        "etag": "e1",
        "names": [{"givenName": name}],
        "clientData": client_data,
        "memberships": [{"contactGroupMembership": {"contactGroupResourceName": "x"}}],
    }


def manifest(name: str, **labels: str) -> Contact:
    return Contact(name, Spec({"names": [{"givenName": name}]}), labels=dict(labels))


def test_a_scoped_prune_never_touches_the_rest() -> None:
    """Only stamped contacts inside the selection whose manifest is gone are deleted."""
    live = LiveState(
        people=[
            stamped("kept-sales", '{"team":"sales"}'),
            stamped("gone-sales", '{"team":"sales"}'),
            stamped("gone-ops", '{"team":"ops"}'),
            stamped("gone-unlabelled"),
            stamped("moved", '{"team":"sales"}'),  # its manifest now says team=ops
        ]
    )
    wanted = desired(manifest("kept-sales", team="sales"), manifest("moved", team="ops"))
    options = PlanOptions(prune=True, selector=parse_selector("team=sales"), max_delete_share=1)
    plan = build_plan(wanted, live, options)
    assert [(i.key, i.action) for i in plan.changes] == [("gone-sales", Action.DELETE)]
    unscoped = build_plan(wanted, live, PlanOptions(prune=True, allow_mass_delete=True))
    assert sorted(i.key for i in unscoped.changes if i.action is Action.DELETE) == [
        "gone-ops",
        "gone-sales",
        "gone-unlabelled",
    ]


def test_a_selection_only_writes_the_contacts_it_selects() -> None:
    """Manifests outside the selection are neither created nor updated."""
    wanted = desired(manifest("a", team="sales"), manifest("b", team="ops"), manifest("c"))
    plan = build_plan(wanted, LiveState(), PlanOptions(selector=parse_selector("team=sales")))
    assert [i.key for i in plan.changes] == ["a"]


names = st.sampled_from(["a", "b", "c", "d", "e", "f"])
teams = st.sampled_from(["sales", "ops", ""])


@given(
    live=st.dictionaries(names, teams, max_size=6),
    wanted=st.dictionaries(names, teams, max_size=6),
    selector=st.sampled_from(["team=sales", "team!=sales", "team in (ops)", "!team", "team"]),
)
def test_deletions_stay_inside_the_selection(
    live: dict[str, str], wanted: dict[str, str], selector: str
) -> None:
    """Whatever the state, every write and delete is of a contact the selector matches."""
    chosen = parse_selector(selector)
    people = [stamped(n, f'{{"team":"{t}"}}' if t else "") for n, t in live.items()]
    contacts = [manifest(n, **({"team": t} if t else {})) for n, t in wanted.items()]
    options = PlanOptions(
        prune=True, allow_mass_delete=True, allow_empty_desired=True, selector=chosen
    )
    plan = build_plan(desired(*contacts), LiveState(people=people), options)
    for item in plan.changes:
        if item.action is Action.DELETE:
            assert item.key not in wanted
            assert chosen.matches({"team": live[item.key]} if live[item.key] else {})
        else:
            assert chosen.matches({"team": wanted[item.key]} if wanted[item.key] else {})
