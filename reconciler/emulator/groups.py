"""Contact group methods: list (pages, sync tokens), get, batchGet, create, update, delete,
and members.modify.

Groups follow their own rules: a stale etag on update is a 409 ABORTED (not the 400 of people),
a duplicate name is a 409 ALREADY_EXISTS, system groups cannot be renamed or deleted, and a
contact never loses its last membership.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from reconciler.emulator import contacts
from reconciler.emulator.clock import rfc3339
from reconciler.emulator.errors import (
    STALE_GROUP_ETAG_MESSAGE,
    ApiError,
    bad_request,
    expired_sync_token,
    not_found,
)
from reconciler.emulator.listing import page_size
from reconciler.emulator.routing import Call, api_route, check_count
from reconciler.emulator.schema import (
    GROUP_READ_FIELDS,
    GROUP_UPDATE_FIELDS,
    check_object,
    parse_mask,
)
from reconciler.emulator.store import (
    ADDABLE_SYSTEM_GROUPS,
    ALL_CONTACTS,
    JSON,
    MY_CONTACTS,
    SYSTEM_GROUPS,
    AddressBook,
    Group,
)
from reconciler.emulator.tokens import SYNC_TOKEN_LIFETIME, decode, encode, fingerprint, mismatch
from reconciler.model.limits import MAX_BATCH_GET, MAX_MEMBER_CHANGES, MAX_PAGE_SIZE

DEFAULT_PAGE_SIZE = 30
DEFAULT_FIELDS = ["groupType", "memberCount", "metadata", "name"]
DUPLICATE_NAME_MESSAGE = "Contact group name already exists."
DEPRECATED_GROUP_MESSAGE = contacts.DEPRECATED_GROUP_MESSAGE


def _group_fields(call: Call, raw: str | None) -> list[str]:
    fields = parse_mask(
        raw,
        name="groupFields",
        allowed=GROUP_READ_FIELDS,
        required=False,
        method_doc="contactGroups/get",
        prefix="contactGroup.",
    )
    return fields or DEFAULT_FIELDS


def render_group(book: AddressBook, group: Group, fields: list[str], max_members: int = 0) -> JSON:
    """A contact group as the API returns it."""
    out: JSON = {"resourceName": group.resource_name}
    members = book.members.get(group.resource_name, set())
    if group.resource_name == ALL_CONTACTS:
        members = set(book.people)
    if not group.system:
        # Real listings show system groups without etag or metadata (docs/people-api.md).
        out["etag"] = group.etag
        if "metadata" in fields:
            out["metadata"] = {"updateTime": rfc3339(group.update_time)}
    if "groupType" in fields:
        out["groupType"] = "SYSTEM_CONTACT_GROUP" if group.system else "USER_CONTACT_GROUP"
    if "name" in fields:
        out["name"] = group.name
        out["formattedName"] = SYSTEM_GROUPS.get(group.resource_name, group.name)
    if "clientData" in fields and group.client_data:
        out["clientData"] = [dict(entry) for entry in group.client_data]
    if "memberCount" in fields and members:
        out["memberCount"] = len(members)
    if max_members > 0 and members:
        out["memberResourceNames"] = sorted(members)[:max_members]
    return out


def _max_members(call: Call) -> int:
    value = call.int_param("maxMembers", 0)
    if value < 0:
        raise bad_request(f"Invalid maxMembers: {value}. It must not be negative.")
    return value


def _resolve(call: Call, resource_name: str) -> Group:
    if not resource_name.startswith("contactGroups/") or "/" in resource_name[14:]:
        raise bad_request(f'Resource name "{resource_name}" is not a valid contact group name.')
    group = call.book.groups.get(resource_name)
    if group is None:
        raise not_found()
    return group


def _path_group(call: Call) -> Group:
    return _resolve(call, f"contactGroups/{call.path_params['group_id']}")


def list_groups(call: Call) -> JSON:
    """contactGroups.list: pages of groups, or the changes since a sync token."""
    fields = _group_fields(call, call.param("groupFields"))
    size = page_size(call, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    sync_token = call.param("syncToken") or None
    page_token = call.param("pageToken") or None
    book = call.book
    now = call.emulator.now()
    params = fingerprint(sorted(fields), sync_token, call.param("pageSize"))
    sync_params = fingerprint(sorted(fields))
    if page_token is not None:
        state = decode(page_token, "page", book.user)
        if state.get("f") != params:
            raise mismatch("contactGroups.list", "page token")
        offset, anchor, full_at, since = state["o"], state["s"], state["t"], state.get("x")
    else:
        offset, anchor, full_at, since = 0, book.seq, now, None
        if sync_token is not None:
            token = decode(sync_token, "sync", book.user)
            if token.get("f") != sync_params:
                raise mismatch("contactGroups.list", "sync token")
            since, full_at = token["s"], token["t"]
            if now - full_at > SYNC_TOKEN_LIFETIME:
                raise expired_sync_token()
    if since is None:
        ordered = sorted(book.groups.values(), key=lambda g: (not g.system, g.seq))
        items = [render_group(book, g, fields) for g in ordered]
    else:
        changed: list[tuple[int, JSON]] = [
            (g.seq, render_group(book, g, fields))
            for g in book.groups.values()
            if since < g.seq <= anchor
        ]
        changed += [
            (
                t.seq,
                {"resourceName": t.resource_name, "etag": t.etag, "metadata": {"deleted": True}},
            )
            for t in book.deleted_groups.values()
            if since < t.seq <= anchor
        ]
        items = [g for _seq, g in sorted(changed, key=lambda pair: pair[0])]
    response: JSON = {}
    page = items[offset : offset + size]
    if page:
        response["contactGroups"] = page
    response["totalItems"] = len(items)
    if offset + size < len(items):
        response["nextPageToken"] = encode(
            "page", u=book.user, o=offset + size, s=anchor, t=full_at, x=since, f=params
        )
    else:
        response["nextSyncToken"] = encode("sync", u=book.user, s=anchor, t=full_at, f=sync_params)
    return response


def get_group(call: Call) -> JSON:
    """contactGroups.get, with up to ``maxMembers`` member resource names."""
    fields = _group_fields(call, call.param("groupFields"))
    return render_group(call.book, _path_group(call), fields, _max_members(call))


def batch_get_groups(call: Call) -> JSON:
    """contactGroups.batchGet: up to 200 groups, each with its own status."""
    fields = _group_fields(call, call.param("groupFields"))
    names = call.params("resourceNames")
    check_count(names, "resourceNames", MAX_BATCH_GET)
    max_members = _max_members(call)
    responses: list[JSON] = []
    for name in names:
        entry: JSON = {"requestedResourceName": name}
        try:
            group = _resolve(call, name)
        except ApiError as error:
            entry["status"] = error.rpc_status()
        else:
            entry["contactGroup"] = render_group(call.book, group, fields, max_members)
            entry["status"] = {}
        responses.append(entry)
    return {"responses": responses}


def _group_body(body: JSON) -> JSON:
    group = body.get("contactGroup")
    if group is None:
        raise bad_request("contactGroup must be specified.", field="contact_group")
    check_object(group, "ContactGroup", "contactGroup")
    assert isinstance(group, dict)
    return group


def _check_name(book: AddressBook, name: Any, exclude: str | None = None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise bad_request("contactGroup.name must not be empty.", field="contact_group.name")
    other = book.group_by_name(name)
    if other is not None and other.resource_name != exclude:
        raise ApiError("ALREADY_EXISTS", DUPLICATE_NAME_MESSAGE)
    return name


def _client_data(group: JSON) -> list[JSON]:
    return [
        {k: v for k, v in e.items() if k in ("key", "value")} for e in group.get("clientData") or []
    ]


def create_group(call: Call) -> JSON:
    """contactGroups.create: a user group; the name must be unique."""
    body = call.json_fields({"contactGroup", "readGroupFields"})
    group = _group_body(body)
    fields = _group_fields(call, body.get("readGroupFields"))
    name = _check_name(call.book, group.get("name"))
    book = call.book
    while True:
        resource_name = f"contactGroups/{call.emulator.rng.getrandbits(60):x}"
        if resource_name not in book.groups:
            break
    seq = book.next_seq()
    created = Group(
        resource_name=resource_name,
        name=name,
        client_data=_client_data(group),
        etag=book.etag(resource_name, seq, "g"),
        update_time=call.emulator.now(),
        seq=seq,
    )
    book.put_group(created)
    return render_group(book, created, fields)


def update_group(call: Call) -> JSON:
    """contactGroups.update: a stale etag is a 409; ``updateGroupFields`` defaults to name."""
    body = call.json_fields({"contactGroup", "updateGroupFields", "readGroupFields"})
    patch = _group_body(body)
    mask_raw = body.get("updateGroupFields")
    mask = parse_mask(
        mask_raw if isinstance(mask_raw, str) else None,
        name="updateGroupFields",
        allowed=GROUP_UPDATE_FIELDS,
        required=False,
        method_doc="contactGroups/update",
        prefix="contactGroup.",
    ) or ["name"]
    fields = _group_fields(call, body.get("readGroupFields"))
    group = _path_group(call)
    if group.system:
        raise bad_request("System contact groups cannot be modified.")
    if patch.get("etag") and patch["etag"] != group.etag:
        raise ApiError("ABORTED", STALE_GROUP_ETAG_MESSAGE)
    name = group.name
    if "name" in mask:
        name = _check_name(call.book, patch.get("name"), exclude=group.resource_name)
    client_data = _client_data(patch) if "clientData" in mask else group.client_data
    book = call.book
    seq = book.next_seq()
    updated = Group(
        resource_name=group.resource_name,
        name=name,
        client_data=client_data,
        etag=book.etag(group.resource_name, seq, "g"),
        update_time=call.emulator.now(),
        seq=seq,
    )
    book.put_group(updated)
    return render_group(book, updated, fields)


def _set_memberships(book: AddressBook, name: str, groups: list[str], now: float) -> None:
    contact = book.people[name]
    fields = dict(contact.fields)
    fields["memberships"] = [
        {"contactGroupMembership": {"contactGroupResourceName": g}} for g in groups
    ]
    book.put_contact(book.new_version(contact, fields, now))


def delete_group(call: Call) -> JSON:
    """contactGroups.delete; ``deleteContacts=true`` deletes the members as well."""
    delete_members = call.bool_param("deleteContacts")
    group = _path_group(call)
    if group.system:
        raise bad_request("System contact groups cannot be deleted.")
    book = call.book
    now = call.emulator.now()
    for member in sorted(book.members.get(group.resource_name, set())):
        if delete_members:
            book.delete_contact(member, now)
        else:
            remaining = [g for g in book.people[member].groups if g != group.resource_name]
            _set_memberships(book, member, remaining or [MY_CONTACTS], now)
    book.delete_group(group.resource_name, now)
    return {}


def _names(body: JSON, key: str) -> list[str]:
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"Invalid value at '{key}', {value!r}", field=key)
    return list(value)


def modify_members(call: Call) -> JSON:
    """contactGroups.members.modify: add and remove at most 1000 people in all."""
    body = call.json_fields({"resourceNamesToAdd", "resourceNamesToRemove"})
    to_add = _names(body, "resourceNamesToAdd")
    to_remove = _names(body, "resourceNamesToRemove")
    total = len(to_add) + len(to_remove)
    if total > MAX_MEMBER_CHANGES:
        raise bad_request(
            f"Too many resource names: {total}. At most {MAX_MEMBER_CHANGES} may be added and "
            "removed in one request."
        )
    group = _path_group(call)
    if to_add and group.system and group.resource_name not in ADDABLE_SYSTEM_GROUPS:
        raise bad_request(DEPRECATED_GROUP_MESSAGE)
    book = call.book
    now = call.emulator.now()
    not_found_names: list[str] = []
    last: list[str] = []
    for name in to_add:
        if name not in book.people:
            not_found_names.append(name)
        elif group.resource_name not in book.people[name].groups:
            _set_memberships(book, name, [*book.people[name].groups, group.resource_name], now)
    for name in to_remove:
        if name not in book.people:
            not_found_names.append(name)
            continue
        current = book.people[name].groups
        if group.resource_name not in current:
            continue
        remaining = [g for g in current if g != group.resource_name]
        if not remaining:
            last.append(name)
        else:
            _set_memberships(book, name, remaining, now)
    response: JSON = {}
    if not_found_names:
        response["notFoundResourceNames"] = not_found_names
    if last:
        response["canNotRemoveLastContactGroupResourceNames"] = last
    return response


_GROUP_PARAMS = ("groupFields", "maxMembers")
ROUTES: list[Route] = [
    api_route(
        "/v1/contactGroups:batchGet",
        "GET",
        "people.contactGroups.batchGet",
        batch_get_groups,
        params=("groupFields", "maxMembers", "resourceNames"),
    ),
    api_route(
        "/v1/contactGroups",
        "GET",
        "people.contactGroups.list",
        list_groups,
        params=("groupFields", "pageSize", "pageToken", "syncToken"),
    ),
    api_route("/v1/contactGroups", "POST", "people.contactGroups.create", create_group),
    api_route(
        "/v1/contactGroups/{group_id}/members:modify",
        "POST",
        "people.contactGroups.members.modify",
        modify_members,
    ),
    api_route(
        "/v1/contactGroups/{group_id}",
        "GET",
        "people.contactGroups.get",
        get_group,
        params=_GROUP_PARAMS,
    ),
    api_route(
        "/v1/contactGroups/{group_id}",
        "PUT",
        "people.contactGroups.update",
        update_group,
    ),
    api_route(
        "/v1/contactGroups/{group_id}",
        "DELETE",
        "people.contactGroups.delete",
        delete_group,
        params=("deleteContacts",),
    ),
]
