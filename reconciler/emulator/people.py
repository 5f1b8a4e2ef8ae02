"""People API contact methods: get, batchGet, create, update, delete, the batch forms, photo.

Each handler validates everything before it changes anything, so a 400 never leaves half a write
behind; the batch forms are all-or-nothing and name the failing items in their error details.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from starlette.routing import Route

from reconciler.emulator import contacts
from reconciler.emulator.errors import ApiError, bad_request, not_found, stale_etag
from reconciler.emulator.routing import Call, any_json, api_route, check_count
from reconciler.emulator.schema import (
    READABLE_FIELDS,
    WRITABLE_FIELDS,
    check_person,
    check_person_schema,
    check_singletons,
    parse_mask,
)
from reconciler.emulator.store import JSON, Contact
from reconciler.model.limits import (
    MAX_BATCH_CREATE,
    MAX_BATCH_DELETE,
    MAX_BATCH_GET,
    MAX_BATCH_UPDATE,
    MAX_CONTACTS_PER_USER,
)

_CONTACT_ID = re.compile(r"c\d+")


def resolve(call: Call, resource_name: str) -> Contact:
    """The current version of a contact of this user, or 404 (400 for a malformed name)."""
    person_id = resource_name.removeprefix("people/")
    if not resource_name.startswith("people/") or not person_id.isalnum():
        raise bad_request(f'Resource name "{resource_name}" is not a valid person resource name.')
    contact = call.book.people.get(resource_name)
    if contact is None or not _CONTACT_ID.fullmatch(person_id):
        raise not_found()
    return contact


def person_fields(call: Call, *, required: bool, default_all: bool = False) -> list[str]:
    """The ``personFields`` mask (or its legacy ``requestMask.includeField`` spelling)."""
    raw = call.param("personFields") or call.param("requestMask.includeField")
    fields = parse_mask(
        raw,
        name="personFields",
        allowed=READABLE_FIELDS,
        required=required,
        method_doc="people/get",
    )
    return fields or (sorted(READABLE_FIELDS) if default_all else [])


def read_mask(body: JSON, method_doc: str) -> list[str]:
    """The optional ``readMask`` of a batch write body."""
    raw = body.get("readMask")
    if raw is not None and not isinstance(raw, str):
        raise bad_request(f"Invalid value at 'read_mask' (TYPE_STRING), {raw!r}")
    return parse_mask(
        raw, name="readMask", allowed=READABLE_FIELDS, required=False, method_doc=method_doc
    )


def render(call: Call, contact: Contact, fields: list[str]) -> JSON:
    """A contact as returned to this call."""
    return contacts.render(contact, fields, call.emulator.config.default_region)


# reads ----------------------------------------------------------------------------------------


def profile(call: Call, fields: list[str]) -> JSON:
    """``people/me``: the signed-in user's own profile, made up from the address book's email."""
    user = call.book.user
    number = int(hashlib.sha256(user.encode()).hexdigest()[:17], 16)
    source = {"type": "PROFILE", "id": str(number)}
    local = user.split("@", 1)[0]
    values: JSON = {
        "names": [
            {
                "metadata": {"primary": True, "source": source},
                "displayName": local,
                "givenName": local,
                "displayNameLastFirst": local,
                "unstructuredName": local,
            }
        ],
        "emailAddresses": [{"metadata": {"primary": True, "source": source}, "value": user}],
        "metadata": {"sources": [{**source, "etag": f"#{number:x}"}], "objectType": "PERSON"},
    }
    person: JSON = {"resourceName": f"people/{number}", "etag": f"%Eg{number:x}"}
    person.update({field: values[field] for field in fields if field in values})
    return person


def get(call: Call) -> JSON:
    """people.get: one contact (or ``people/me``); read lag may serve the previous version."""
    fields = person_fields(call, required=True)
    if call.path_params["person_id"] == "me":
        return profile(call, fields)
    contact = resolve(call, f"people/{call.path_params['person_id']}")
    return render(call, call.emulator.faults.visible_version(contact), fields)


def batch_get(call: Call) -> JSON:
    """people.getBatchGet: up to 200 contacts, each with its own status."""
    fields = person_fields(call, required=True)
    names = call.params("resourceNames")
    if not names:
        raise bad_request("resourceNames must not be empty.", field="resource_names")
    if len(names) > MAX_BATCH_GET:
        raise bad_request(
            f"Too many resourceNames: {len(names)}. At most {MAX_BATCH_GET} are allowed.",
            field="resource_names",
        )
    responses: list[JSON] = []
    for name in names:
        entry: JSON = {"requestedResourceName": name}
        try:
            contact = call.emulator.faults.visible_version(resolve(call, name))
        except ApiError as error:
            entry["status"] = error.rpc_status()
        else:
            entry["person"] = render(call, contact, fields)
            entry["status"] = {}
        responses.append(entry)
    return {"responses": responses}


# writes -------------------------------------------------------------------------------------


def _new_id(call: Call) -> int:
    while True:
        candidate = call.emulator.rng.randrange(10**18, 2**63)
        if f"people/c{candidate}" not in call.book.people:
            return candidate


CONTACT_LIMIT_MESSAGE = (
    f"Contact limit reached: an account holds at most {MAX_CONTACTS_PER_USER} contacts."
)


def _room(call: Call) -> int:
    """How many more contacts this user may create (Google Contacts' 25,000 per account)."""
    return MAX_CONTACTS_PER_USER - len(call.book.people)


def create_contact(call: Call) -> JSON:
    """people.createContact: a new contact in myContacts."""
    fields = person_fields(call, required=False, default_all=True)
    person = check_person(call.json())
    if _room(call) < 1:
        raise ApiError("FAILED_PRECONDITION", CONTACT_LIMIT_MESSAGE)
    contact = contacts.create(
        call.book, person, call.emulator.now(), _new_id(call), WRITABLE_FIELDS
    )
    call.book.put_contact(contact)
    return render(call, contact, fields)


def _updated(call: Call, name: str, person: JSON, mask: list[str]) -> Contact:
    contact = resolve(call, name)
    contacts.check_etag(contact, person)
    if call.emulator.faults.spurious_stale(contact):
        raise stale_etag(source=not person.get("etag"))
    return contacts.update(call.book, contact, person, mask, call.emulator.now())


def update_contact(call: Call) -> JSON:
    """people.updateContact: masked fields replaced whole; the etag must be current."""
    mask = parse_mask(
        call.param("updatePersonFields"),
        name="updatePersonFields",
        allowed=WRITABLE_FIELDS,
        required=True,
        method_doc="people/updateContact",
    )
    fields = person_fields(call, required=False, default_all=True)
    person = check_person(call.json())
    name = f"people/{call.path_params['person_id']}"
    if person.get("resourceName") not in (None, name):
        raise bad_request("person.resourceName does not match the resource name in the URL.")
    contact = _updated(call, name, person, mask)
    call.book.put_contact(contact)
    return render(call, contact, fields)


def delete_contact(call: Call) -> JSON:
    """people.deleteContact: no etag, returns ``{}``."""
    contact = resolve(call, f"people/{call.path_params['person_id']}")
    call.book.delete_contact(contact.resource_name, call.emulator.now())
    return {}


def _batch_failure(errors: dict[str, ApiError], detail_type: str) -> ApiError:
    first = next(iter(errors.values()))
    detail = {
        "@type": f"type.googleapis.com/google.people.v1.{detail_type}",
        "contactErrors": {key: error.rpc_status() for key, error in errors.items()},
    }
    return ApiError(first.status, first.message, details=[*first.details, detail])


def _person_response(call: Call, contact: Contact, fields: list[str]) -> JSON:
    """One PersonResponse of a batch write. With an empty ``readMask`` "the post-mutate-get is
    skipped and no data will be returned" (discovery document, BatchCreateContactsRequest and
    BatchUpdateContactsRequest): no person, so no resource name and no etag either."""
    response: JSON = {"httpStatusCode": 200, "status": {}}
    if fields:
        response["person"] = render(call, contact, fields)
    return response


def batch_create(call: Call) -> JSON:
    """people.batchCreateContacts: up to 200 contacts, all or nothing."""
    body = call.json_fields({"contacts", "readMask", "sources"})
    fields = read_mask(body, "people/batchCreateContacts")
    items = body.get("contacts")
    if items is not None and not isinstance(items, list):
        raise bad_request(f"Invalid value at 'contacts', {items!r}", field="contacts")
    check_count(items, "contacts", MAX_BATCH_CREATE)
    assert items is not None
    persons: list[JSON] = []
    for index, item in enumerate(items):
        item = any_json(item)
        unknown = set(item) - {"contactPerson"}
        if unknown:
            raise bad_request(
                f'Invalid JSON payload received. Unknown name "{unknown.pop()}" at '
                f"'contacts[{index}]': Cannot find field."
            )
        path = f"contacts[{index}].contactPerson"
        persons.append(check_person_schema(item.get("contactPerson") or {}, path))
    errors: dict[str, ApiError] = {}
    room = _room(call)
    for index, person in enumerate(persons):
        try:
            check_singletons(person, f"contacts[{index}].contactPerson")
            contacts.check_memberships(call.book, person)
            if index >= room:
                raise ApiError("FAILED_PRECONDITION", CONTACT_LIMIT_MESSAGE)
        except ApiError as error:
            errors[str(index)] = error
    if errors:
        raise _batch_failure(errors, "BatchCreateContactsErrorDetails")
    now = call.emulator.now()
    created: list[JSON] = []
    for person in persons:
        contact = contacts.create(call.book, person, now, _new_id(call), WRITABLE_FIELDS)
        call.book.put_contact(contact)
        created.append(_person_response(call, contact, fields))
    return {"createdPeople": created}


def batch_update(call: Call) -> JSON:
    """people.batchUpdateContacts: up to 200, each with its etag; masked empty fields clear."""
    body = call.json_fields({"contacts", "updateMask", "readMask", "sources"})
    raw_mask = body.get("updateMask")
    if raw_mask is not None and not isinstance(raw_mask, str):
        raise bad_request(f"Invalid value at 'update_mask' (TYPE_STRING), {raw_mask!r}")
    mask = parse_mask(
        raw_mask,
        name="updateMask",
        allowed=WRITABLE_FIELDS,
        required=True,
        method_doc="people/batchUpdateContacts",
    )
    fields = read_mask(body, "people/batchUpdateContacts")
    items = body.get("contacts")
    if items is not None and not isinstance(items, dict):
        raise bad_request(f"Invalid value at 'contacts', {items!r}", field="contacts")
    check_count(items, "contacts", MAX_BATCH_UPDATE)
    assert items is not None
    persons = {
        name: check_person_schema(person, f"contacts[{name}]") for name, person in items.items()
    }
    updated: dict[str, Contact] = {}
    errors: dict[str, ApiError] = {}
    for name, person in persons.items():
        try:
            check_singletons(person, f"contacts[{name}]")
            updated[name] = _updated(call, name, person, mask)
        except ApiError as error:
            errors[name] = error
    if errors:
        raise _batch_failure(errors, "BatchUpdateContactsErrorDetails")
    result: dict[str, JSON] = {}
    for name, contact in updated.items():
        call.book.put_contact(contact)
        result[name] = {**_person_response(call, contact, fields), "requestedResourceName": name}
    return {"updateResult": result}


def batch_delete(call: Call) -> JSON:
    """people.batchDeleteContacts: up to 500 names, no etags; all or nothing."""
    body = call.json_fields({"resourceNames"})
    names = body.get("resourceNames")
    if names is not None and (
        not isinstance(names, list) or not all(isinstance(n, str) for n in names)
    ):
        raise bad_request(f"Invalid value at 'resource_names', {names!r}", field="resource_names")
    check_count(names, "resourceNames", MAX_BATCH_DELETE)
    assert names is not None
    errors: dict[str, ApiError] = {}
    for name in names:
        try:
            resolve(call, name)
        except ApiError as error:
            errors[name] = error
    if errors:
        raise _batch_failure(errors, "BatchDeleteContactsErrorDetails")
    now = call.emulator.now()
    for name in dict.fromkeys(names):
        call.book.delete_contact(name, now)
    return {}


def _image_kind(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


def update_photo(call: Call) -> JSON:
    """people.updateContactPhoto: JPEG or PNG bytes, base64 in ``photoBytes``."""
    body = call.json_fields({"photoBytes", "personFields", "sources"})
    raw = body.get("photoBytes")
    if not raw:
        raise bad_request("photoBytes must not be empty.", field="photo_bytes")
    if not isinstance(raw, str):
        raise bad_request(f"Invalid value at 'photo_bytes' (TYPE_BYTES), {raw!r}")
    try:
        data = base64.b64decode(raw.replace("-", "+").replace("_", "/") + "==", validate=False)
    except (binascii.Error, ValueError):
        raise bad_request("Invalid value at 'photo_bytes' (TYPE_BYTES)") from None
    if _image_kind(data) is None:
        raise bad_request("Invalid photoBytes: the photo must be a JPEG or PNG image.")
    mask = body.get("personFields")
    fields = parse_mask(
        mask if isinstance(mask, str) else None,
        name="personFields",
        allowed=READABLE_FIELDS,
        required=False,
        method_doc="people/updateContactPhoto",
    )
    contact = resolve(call, f"people/{call.path_params['person_id']}")
    digest = hashlib.sha256(data).hexdigest()[:32]
    url = f"https://lh3.googleusercontent.com/contacts/{digest}"
    updated = call.book.new_version(contact, contact.fields, call.emulator.now(), photo_url=url)
    call.book.put_contact(updated)
    return {"person": render(call, updated, fields)}


_SOURCES = ("sources",)
ROUTES: list[Route] = [
    api_route(
        "/v1/people:batchGet",
        "GET",
        "people.people.getBatchGet",
        batch_get,
        params=("personFields", "requestMask.includeField", "resourceNames", *_SOURCES),
    ),
    api_route(
        "/v1/people:createContact",
        "POST",
        "people.people.createContact",
        create_contact,
        params=("personFields", *_SOURCES),
    ),
    api_route(
        "/v1/people:batchCreateContacts",
        "POST",
        "people.people.batchCreateContacts",
        batch_create,
    ),
    api_route(
        "/v1/people:batchUpdateContacts",
        "POST",
        "people.people.batchUpdateContacts",
        batch_update,
    ),
    api_route(
        "/v1/people:batchDeleteContacts",
        "POST",
        "people.people.batchDeleteContacts",
        batch_delete,
    ),
    api_route(
        "/v1/people/{person_id}:updateContact",
        "PATCH",
        "people.people.updateContact",
        update_contact,
        params=("personFields", "updatePersonFields", *_SOURCES),
    ),
    api_route(
        "/v1/people/{person_id}:deleteContact",
        "DELETE",
        "people.people.deleteContact",
        delete_contact,
    ),
    api_route(
        "/v1/people/{person_id}:updateContactPhoto",
        "PATCH",
        "people.people.updateContactPhoto",
        update_photo,
    ),
]
GET_ROUTE = api_route(
    "/v1/people/{person_id}",
    "GET",
    "people.people.get",
    get,
    params=("personFields", "requestMask.includeField", *_SOURCES),
)
