"""Hypothesis strategies for valid manifests: what a person could legitimately write."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from reconciler.manifest import ContactResource, ContactSpec, GroupResource, GroupSpec

# Any text a YAML file can carry: every printable character plus newlines and tabs, including
# strings YAML would otherwise misread (yes, 0123, 2020-01-01, null, ~, "- x", "#").
TRICKY = ["yes", "NO", "on", "null", "~", "0123", "1e3", "2020-01-01", "- x", "# not a comment", ""]
text = st.one_of(
    st.sampled_from(TRICKY),
    st.text(
        alphabet=st.characters(exclude_categories=("Cs", "Cc"), include_characters="\n\t"),
        max_size=30,
    ),
)
names = st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?", fullmatch=True)
emails = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,10}[a-z0-9]", fullmatch=True).filter(
        lambda local: ".." not in local
    ),
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["com", "org", "example"]),
)
phones = st.builds(
    lambda fmt, n: fmt.format(n=n),
    st.sampled_from(
        ["+1 650 555 {n:04d}", "(415) 555-{n:04d}", "650.555.{n:04d}", "+16505550{n:03d}"]
    ),
    st.integers(0, 199),
)
dates = st.builds(
    lambda year, month, day: {"month": month, "day": day, **({"year": year} if year else {})},
    st.one_of(st.none(), st.integers(1900, 2100)),
    st.integers(1, 12),
    st.integers(1, 28),
)


def entries(required: dict[str, Any], **optional: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(required, optional=optional)


def listed(entry: st.SearchStrategy[Any], max_size: int = 3) -> st.SearchStrategy[list[Any]]:
    return st.lists(entry, max_size=max_size)


specs = st.fixed_dictionaries(
    {},
    optional={
        "names": listed(
            entries({}, givenName=text, familyName=text, middleName=text, honorificPrefix=text),
            max_size=1,
        ),
        "nicknames": listed(st.one_of(text, entries({"value": text}, type=st.just("SHORT_NAME")))),
        "emailAddresses": listed(st.one_of(emails, entries({"value": emails}, type=text))),
        "phoneNumbers": listed(st.one_of(phones, entries({"value": phones}, type=text))),
        "addresses": listed(entries({}, streetAddress=text, city=text, countryCode=text)),
        "organizations": listed(
            entries({}, name=text, title=text, current=st.booleans(), startDate=dates)
        ),
        "biographies": listed(entries({"value": text}, contentType=st.just("TEXT_PLAIN")), 1),
        "birthdays": listed(st.one_of(entries({"date": dates}), entries({"text": text})), 1),
        "events": listed(entries({"date": dates}, type=text)),
        "relations": listed(entries({"person": text}, type=text)),
        "urls": listed(text),
        "userDefined": listed(entries({"key": text, "value": text})),
        "imClients": listed(entries({"username": text}, protocol=text)),
        "locales": listed(text),
        "genders": listed(entries({"value": text}, addressMeAs=text), 1),
        "groups": st.lists(names, max_size=3, unique=True),
    },
)
labels = st.dictionaries(names, text, max_size=3)


@st.composite
def contacts(draw: st.DrawFn) -> ContactResource:
    return ContactResource(
        name=draw(names),
        spec=ContactSpec.model_validate(draw(specs)),
        labels=draw(labels),
        annotations=draw(
            st.dictionaries(
                st.sampled_from(["reconciler/prune", "example.org/owner"]), text
            ).filter(lambda a: a.get("reconciler/prune", "true") in ("true", "false"))
        ),
    )


def groups_for(contact_list: list[ContactResource]) -> list[GroupResource]:
    used = sorted({group for contact in contact_list for group in contact.spec.groups})
    return [GroupResource(name=name, spec=GroupSpec(name=name.upper())) for name in used]
