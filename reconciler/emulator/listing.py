"""Listing and searching contacts: connections.list (pages, sync tokens) and searchContacts.

A full listing with ``requestSyncToken`` is anchored to the change sequence number at its first
page, and an incremental sync to the newest change every knob lets it see; the ``nextSyncToken``
on the last page points there, so a change made while paging, or still hidden by a lag knob, is
reported by the next sync instead of being lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.routing import Route

from reconciler.emulator import contacts
from reconciler.emulator.errors import bad_request, expired_sync_token
from reconciler.emulator.people import person_fields, render
from reconciler.emulator.routing import Call, api_route
from reconciler.emulator.schema import READABLE_FIELDS, parse_mask
from reconciler.emulator.store import JSON, Contact, Tombstone
from reconciler.emulator.tokens import SYNC_TOKEN_LIFETIME, decode, encode, fingerprint, mismatch
from reconciler.model.limits import LISTED_VALUE_FIELDS, MAX_LISTED_VALUES, MAX_PAGE_SIZE

DEFAULT_PAGE_SIZE = 100
SEARCH_DEFAULT = 10
SEARCH_MAX = 30
SORT_ORDERS = frozenset(
    {
        "LAST_MODIFIED_ASCENDING",
        "LAST_MODIFIED_DESCENDING",
        "FIRST_NAME_ASCENDING",
        "LAST_NAME_ASCENDING",
    }
)


def page_size(call: Call, default: int, maximum: int) -> int:
    """``pageSize`` in 0..maximum (0 means the default); anything else is a 400."""
    size = call.int_param("pageSize", default)
    if size < 0 or size > maximum:
        raise bad_request(
            f"Invalid pageSize: {size}. It must be between 1 and {maximum}.", field="page_size"
        )
    return size or default


def _name_key(contact: Contact, part: str) -> tuple[int, str, int]:
    names = contact.fields.get("names") or [{}]
    value = str(names[0].get(part) or "").lower()
    return (0 if value else 1, value, contact.seq)


def _sorted(people: Iterable[Contact], order: str) -> list[Contact]:
    if order == "FIRST_NAME_ASCENDING":
        return sorted(people, key=lambda c: _name_key(c, "givenName"))
    if order == "LAST_NAME_ASCENDING":
        return sorted(people, key=lambda c: _name_key(c, "familyName"))
    ascending = sorted(people, key=lambda c: (c.update_time, c.seq))
    return ascending[::-1] if order == "LAST_MODIFIED_DESCENDING" else ascending


def _capped(person: JSON) -> JSON:
    """Listings return at most 100 emails and 100 phone numbers per person."""
    for field in LISTED_VALUE_FIELDS:
        if len(person.get(field, ())) > MAX_LISTED_VALUES:
            person[field] = person[field][:MAX_LISTED_VALUES]
    return person


def list_connections(call: Call) -> JSON:
    """people.connections.list for ``people/me``: full listings and incremental syncs."""
    if call.path_params["person_id"] != "me":
        raise bad_request(
            "Only people/me is supported for connections.list.", field="resource_name"
        )
    fields = person_fields(call, required=True)
    size = page_size(call, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    order = call.param("sortOrder") or "LAST_MODIFIED_ASCENDING"
    if order not in SORT_ORDERS:
        raise bad_request(
            f"Invalid value at 'sort_order' (type.googleapis.com/google.people.v1."
            f'ListConnectionsRequest.SortOrder), "{order}"'
        )
    want_token = call.bool_param("requestSyncToken")
    sync_token = call.param("syncToken") or None
    page_token = call.param("pageToken") or None
    user = call.book.user
    faults = call.emulator.faults
    now = call.emulator.now()
    params = fingerprint(sorted(fields), order, want_token, sync_token, call.param("pageSize"))
    sync_params = fingerprint(sorted(fields), order)

    if page_token is not None:
        state = decode(page_token, "page", user)
        if state.get("f") != params:
            raise mismatch("people.connections.list", "page token")
        offset, anchor, full_at, since = state["o"], state["s"], state["t"], state.get("x")
    else:
        offset, since = 0, None
        full_at = now
        if sync_token is not None:
            token = decode(sync_token, "sync", user)
            if token.get("f") != sync_params:
                raise mismatch("people.connections.list", "sync token")
            since, full_at = token["s"], token["t"]
        if now - full_at > SYNC_TOKEN_LIFETIME:
            raise expired_sync_token()
        anchor = _anchor(call, since)

    items: list[Contact | Tombstone]
    if since is None:
        items = [*_sorted((c for c in call.book.people.values() if faults.listed(c)), order)]
    else:
        items = _changes(call, since, anchor)
    page = [_render_item(call, item, fields) for item in items[offset : offset + size]]
    response: JSON = {}
    if page:
        response["connections"] = page
    if offset + size < len(items):
        response["nextPageToken"] = encode(
            "page", u=user, o=offset + size, s=anchor, t=full_at, x=since, f=params
        )
    elif want_token or sync_token is not None:
        response["nextSyncToken"] = encode("sync", u=user, s=anchor, t=full_at, f=sync_params)
    response["totalPeople"] = len(items)
    response["totalItems"] = len(items)
    return response


def _anchor(call: Call, since: int | None) -> int:
    """The newest sequence number the next sync token may cover: none hidden at or below it."""
    faults = call.emulator.faults
    hidden = [c.seq for c in call.book.people.values() if not faults.listed(c)]
    if since is not None:
        hidden += [
            c.seq
            for c in call.book.people.values()
            if c.seq > since and not faults.synced(c.update_time)
        ]
        hidden += [
            t.seq
            for t in call.book.deleted_people.values()
            if t.seq > since and not faults.synced(t.deleted_at)
        ]
    return min(hidden) - 1 if hidden else call.book.seq


def _changes(call: Call, since: int, anchor: int) -> list[Contact | Tombstone]:
    """People changed or deleted after ``since`` up to ``anchor``, oldest change first."""
    changed: list[Contact | Tombstone] = [
        c for c in call.book.people.values() if since < c.seq <= anchor
    ]
    changed += [t for t in call.book.deleted_people.values() if since < t.seq <= anchor]
    return sorted(changed, key=lambda item: item.seq)


def _render_item(call: Call, item: Contact | Tombstone, fields: list[str]) -> JSON:
    """A listed person (at most 100 emails and phones), or a deleted one's tombstone."""
    if isinstance(item, Tombstone):
        return contacts.render_tombstone(item.resource_name, item.etag)
    return _capped(render(call, item, fields))


# search ---------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _haystacks(contact: Contact) -> list[str]:
    fields = contact.fields
    texts: list[str] = []
    for name in fields.get("names", []):
        texts += [
            " ".join(str(name.get(p) or "") for p in ("givenName", "middleName", "familyName")),
            str(name.get("familyName") or ""),
            str(name.get("unstructuredName") or ""),
        ]
    texts += [str(n.get("value") or "") for n in fields.get("nicknames", [])]
    texts += [str(e.get("value") or "") for e in fields.get("emailAddresses", [])]
    texts += [str(o.get("name") or "") for o in fields.get("organizations", [])]
    texts += [str(o.get("title") or "") for o in fields.get("organizations", [])]
    return [t for t in texts if t.strip()]


def _phone_match(contact: Contact, query: str, region: str) -> bool:
    digits = re.sub(r"\D", "", query)
    if not digits or len(digits) < len(query.replace(" ", "").lstrip("+")) - 2:
        return False
    for phone in contact.fields.get("phoneNumbers", []):
        value = str(phone.get("value") or "")
        candidates = [re.sub(r"\D", "", value)]
        canonical = contacts.canonical_form(value, region)
        if canonical:
            candidates.append(canonical.lstrip("+"))
        national = contacts.national_digits(value, region)
        if national:
            candidates.append(national)
        if any(c.startswith(digits) for c in candidates):
            return True
    return False


def matches(contact: Contact, query: str, region: str) -> bool:
    """Prefix-phrase match: query words are prefixes of consecutive words of one field."""
    wanted = _words(query)
    if not wanted:
        return False
    for text in _haystacks(contact):
        if text.lower().startswith(query.lower()):
            return True
        words = _words(text)
        for start in range(len(words) - len(wanted) + 1):
            window = words[start : start + len(wanted)]
            if all(w.startswith(q) for w, q in zip(window, wanted, strict=True)):
                return True
    return _phone_match(contact, query, region)


def search(call: Call) -> JSON:
    """people.searchContacts: needs a warm-up call with an empty query; at most 30 results."""
    query = call.param("query")
    if query is None:
        raise bad_request("query must be specified.", field="query")
    fields = parse_mask(
        call.param("readMask"),
        name="readMask",
        allowed=READABLE_FIELDS,
        required=True,
        method_doc="people/searchContacts",
    )
    size = call.int_param("pageSize", SEARCH_DEFAULT)
    if size < 0:
        raise bad_request(f"Invalid pageSize: {size}. It must not be negative.", field="page_size")
    size = min(size or SEARCH_DEFAULT, SEARCH_MAX)
    book = call.book
    if not query.strip():
        if not book.search_warm:
            book.search_warm = True
            book.dirty.add(("book", ""))
        return {}
    if not book.search_warm:
        return {}
    region = call.emulator.config.default_region
    faults = call.emulator.faults
    found = [
        c
        for c in _sorted(book.people.values(), "LAST_MODIFIED_ASCENDING")
        if faults.listed(c) and matches(c, query, region)
    ]
    results = [{"person": render(call, c, fields)} for c in found[:size]]
    return {"results": results} if results else {}


ROUTES: list[Route] = [
    api_route(
        "/v1/people:searchContacts",
        "GET",
        "people.people.searchContacts",
        search,
        params=("pageSize", "query", "readMask", "sources"),
    ),
    api_route(
        "/v1/people/{person_id}/connections",
        "GET",
        "people.people.connections.list",
        list_connections,
        params=(
            "pageSize",
            "pageToken",
            "personFields",
            "requestMask.includeField",
            "requestSyncToken",
            "sortOrder",
            "sources",
            "syncToken",
        ),
    ),
]
