"""The Person and ContactGroup schemas, and validation of bodies and field masks against them.

Bad input must get the 400 Google gives (unknown names, wrong JSON types, bad mask paths, more
than one entry in a singleton field), never a 500. The tables below follow the People API
discovery document; a test checks them against the copy shipped with google-api-python-client.
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.emulator.errors import bad_request
from reconciler.model.fields import PERSON_WRITABLE_FIELDS, SINGLETON_FIELDS

Spec = str | list[str]

_ENTRY = "metadata:FieldMetadata"
_TYPES: dict[str, str] = {
    "Address": "city country countryCode extendedAddress formattedType formattedValue poBox "
    "postalCode region streetAddress type",
    "AgeRangeType": "ageRange",
    "Biography": "contentType value",
    "Birthday": "date:Date text",
    "BraggingRights": "value",
    "CalendarUrl": "formattedType type url",
    "ClientData": "key value",
    "CoverPhoto": "default:bool url",
    "EmailAddress": "displayName formattedType type value",
    "Event": "date:Date formattedType type",
    "ExternalId": "formattedType type value",
    "FileAs": "value",
    "Gender": "addressMeAs formattedValue value",
    "ImClient": "formattedProtocol formattedType protocol type username",
    "Interest": "value",
    "Locale": "value",
    "Location": "buildingId current:bool deskCode floor floorSection type value",
    "Membership": "contactGroupMembership:ContactGroupMembership domainMembership:DomainMembership",
    "MiscKeyword": "formattedType type value",
    "Name": "displayName displayNameLastFirst familyName givenName honorificPrefix "
    "honorificSuffix middleName phoneticFamilyName phoneticFullName phoneticGivenName "
    "phoneticHonorificPrefix phoneticHonorificSuffix phoneticMiddleName unstructuredName",
    "Nickname": "type value",
    "Occupation": "value",
    "Organization": "costCenter current:bool department domain endDate:Date formattedType "
    "fullTimeEquivalentMillipercent:int jobDescription location name phoneticName "
    "startDate:Date symbol title type",
    "PhoneNumber": "canonicalForm formattedType type value",
    "Photo": "default:bool url",
    "Relation": "formattedType person type",
    "RelationshipInterest": "formattedValue value",
    "RelationshipStatus": "formattedValue value",
    "Residence": "current:bool value",
    "SipAddress": "formattedType type value",
    "Skill": "value",
    "Tagline": "value",
    "Url": "formattedType type value",
    "UserDefined": "key value",
}
_PLAIN: dict[str, str] = {
    "Date": "day:int month:int year:int",
    "FieldMetadata": "primary:bool source:Source sourcePrimary:bool verified:bool",
    "Source": "etag id profileMetadata:ProfileMetadata type updateTime",
    "ProfileMetadata": "objectType userTypes:[string]",
    "ContactGroupMembership": "contactGroupId contactGroupResourceName",
    "DomainMembership": "inViewerDomain:bool",
    "PersonMetadata": "deleted:bool linkedPeopleResourceNames:[string] objectType "
    "previousResourceNames:[string] sources:[Source]",
    "GroupClientData": "key value",
    "ContactGroup": "clientData:[GroupClientData] etag formattedName groupType memberCount:int "
    "memberResourceNames:[string] metadata:ContactGroupMetadata name resourceName",
    "ContactGroupMetadata": "deleted:bool updateTime",
}

PERSON_LIST_FIELDS: dict[str, str] = {
    "addresses": "Address",
    "ageRanges": "AgeRangeType",
    "biographies": "Biography",
    "birthdays": "Birthday",
    "braggingRights": "BraggingRights",
    "calendarUrls": "CalendarUrl",
    "clientData": "ClientData",
    "coverPhotos": "CoverPhoto",
    "emailAddresses": "EmailAddress",
    "events": "Event",
    "externalIds": "ExternalId",
    "fileAses": "FileAs",
    "genders": "Gender",
    "imClients": "ImClient",
    "interests": "Interest",
    "locales": "Locale",
    "locations": "Location",
    "memberships": "Membership",
    "miscKeywords": "MiscKeyword",
    "names": "Name",
    "nicknames": "Nickname",
    "occupations": "Occupation",
    "organizations": "Organization",
    "phoneNumbers": "PhoneNumber",
    "photos": "Photo",
    "relations": "Relation",
    "relationshipInterests": "RelationshipInterest",
    "relationshipStatuses": "RelationshipStatus",
    "residences": "Residence",
    "sipAddresses": "SipAddress",
    "skills": "Skill",
    "taglines": "Tagline",
    "urls": "Url",
    "userDefined": "UserDefined",
}

# The writable fields and singletons are the one catalogue the planner uses too; the
# discovery-document tests check it against Google's own description of Person.
WRITABLE_FIELDS = PERSON_WRITABLE_FIELDS
# What a read mask may name: the writable fields plus the read-only ones.
READABLE_FIELDS = WRITABLE_FIELDS | frozenset(
    {"ageRanges", "coverPhotos", "metadata", "photos", "skills"}
)
OUTPUT_ONLY_SUBFIELDS = frozenset(
    {
        "displayName",
        "displayNameLastFirst",
        "canonicalForm",
        "formattedType",
        "formattedValue",
        "formattedProtocol",
        "metadata",
        "contactGroupId",
        "domainMembership",
    }
)
GROUP_READ_FIELDS = frozenset({"clientData", "groupType", "memberCount", "metadata", "name"})
GROUP_UPDATE_FIELDS = frozenset({"clientData", "name"})


def _parse(spec: str) -> dict[str, Spec]:
    fields: dict[str, Spec] = {}
    for item in spec.split():
        name, _, kind = item.partition(":")
        kind = kind or "string"
        fields[name] = [kind[1:-1]] if kind.startswith("[") else kind
    return fields


SCHEMAS: dict[str, dict[str, Spec]] = {
    name: _parse(f"{spec} {_ENTRY}") for name, spec in _TYPES.items()
} | {name: _parse(spec) for name, spec in _PLAIN.items()}
SCHEMAS["Person"] = {
    "resourceName": "string",
    "etag": "string",
    "metadata": "PersonMetadata",
    "ageRange": "string",
} | {field: [kind] for field, kind in PERSON_LIST_FIELDS.items()}

_JSON_NAMES = {"string": "TYPE_STRING", "bool": "TYPE_BOOL", "int": "TYPE_INT32"}


def snake(name: str) -> str:
    """``phoneNumbers`` -> ``phone_numbers``: how Google names fields in error paths."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _value_error(path: str, value: Any, kind: str) -> Exception:
    shown = value if isinstance(value, int | float | bool) else repr(value)
    where = _google_path(path)
    message = f"Invalid value at '{where}' ({_JSON_NAMES.get(kind, 'TYPE_MESSAGE')}), {shown}"
    return bad_request(message, field=where)


def _google_path(path: str) -> str:
    return ".".join(snake(part) for part in path.split("."))


def check(value: Any, kind: Spec, path: str) -> None:
    """Raise a Google-style 400 if ``value`` does not fit the schema ``kind``."""
    if isinstance(kind, list):
        if not isinstance(value, list):
            raise _value_error(path, value, kind[0])
        for index, item in enumerate(value):
            check(item, kind[0], f"{path}[{index}]")
        return
    if kind == "string":
        if not isinstance(value, str):
            raise _value_error(path, value, kind)
    elif kind == "bool":
        if not isinstance(value, bool):
            raise _value_error(path, value, kind)
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _value_error(path, value, kind)
    else:
        check_object(value, kind, path)


def check_object(value: Any, kind: str, path: str) -> None:
    """Check one JSON object against schema ``kind``: unknown names and wrong types are 400s."""
    if not isinstance(value, dict):
        raise _value_error(path, value, kind)
    fields = SCHEMAS[kind]
    for name, item in value.items():
        spec = fields.get(name)
        if spec is None:
            where = _google_path(path)
            message = (
                f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': "
                "Cannot find field."
            )
            raise bad_request(message, field=where)
        if item is None:
            continue
        check(item, spec, f"{path}.{name}")


def check_person(person: Any, path: str = "person") -> dict[str, Any]:
    """Validate a Person body: schema, then singleton fields. Returns it typed."""
    return check_singletons(check_person_schema(person, path), path)


def check_person_schema(person: Any, path: str = "person") -> dict[str, Any]:
    """Validate a Person body's names and JSON types (what Google checks while parsing)."""
    check_object(person, "Person", path)
    assert isinstance(person, dict)
    return person


def check_singletons(person: dict[str, Any], path: str = "person") -> dict[str, Any]:
    """names, biographies, birthdays and genders take at most one entry on a contact."""
    for field in sorted(SINGLETON_FIELDS):
        entries = person.get(field) or []
        if len(entries) > 1:
            raise bad_request(
                f"Invalid person: field '{field}' is a singleton field and may contain only "
                f"one entry: {len(entries)} given.",
                field=f"{path}.{snake(field)}",
            )
    return person


def parse_mask(
    raw: str | None,
    *,
    name: str,
    allowed: frozenset[str],
    required: bool,
    method_doc: str,
    prefix: str = "person.",
) -> list[str]:
    """Parse a comma-separated field mask; a missing or bad one is Google's 400."""
    doc = f"https://developers.google.com/people/api/rest/v1/{method_doc}"
    paths = [p.strip() for p in (raw or "").split(",") if p.strip()]
    if not paths:
        if required:
            raise bad_request(
                f"{name} mask is required. Please specify one or more valid paths. "
                f"Valid paths are documented at {doc}.",
                field=name,
            )
        return []
    fields: list[str] = []
    for path in paths:
        field = path.removeprefix(prefix)
        if field not in allowed:
            raise bad_request(
                f'Invalid {name} mask path: "{path}". Valid paths are documented at {doc}.',
                field=name,
            )
        if field not in fields:
            fields.append(field)
    return fields
