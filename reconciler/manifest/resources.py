"""Manifest documents (``Contact``, ``ContactGroup``) and the resources the loader hands out.

The pydantic ``*Document`` models describe exactly what may be written in a YAML document and are
the source of the published JSON Schema. The loader turns each valid document into a small
``ContactResource`` or ``GroupResource`` that remembers where it was written, which is what the
planner and the controller work with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from reconciler.manifest.errors import Location
from reconciler.manifest.fields import (
    Address,
    BareBiography,
    BareEmailAddress,
    BareExternalId,
    BareGender,
    BareInterest,
    BareLocale,
    BareMiscKeyword,
    BareNickname,
    BareOccupation,
    BarePersonLocation,
    BarePhoneNumber,
    BareSipAddress,
    BareUrl,
    Birthday,
    CalendarUrl,
    Event,
    ImClient,
    Name,
    Organization,
    Relation,
    UserDefined,
)
from reconciler.model.inputs import PREVIOUS_NAMES_ANNOTATION, previous_names
from reconciler.model.limits import MAX_CONTACT_BYTES, MAX_FIELDS_PER_CONTACT

API_VERSION = "reconciler/v1"
NAME_PATTERN = r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$"
ResourceName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]

# Annotations the reconciler itself reads, with the values each accepts.
PRUNE_ANNOTATION = "reconciler/prune"
ADOPT_ANNOTATION = "reconciler/adopt"
SUSPEND_ANNOTATION = "reconciler/suspend"  # read by the controller: leave this contact alone
# observe: track the live contact and report drift, never write it (Crossplane's Observe)
POLICY_ANNOTATION = "reconciler/management-policy"
# The values each accepts; () for PREVIOUS_NAMES_ANNOTATION: a comma-separated list of names.
KNOWN_ANNOTATIONS: dict[str, tuple[str, ...]] = {
    PRUNE_ANNOTATION: ("true", "false"),
    ADOPT_ANNOTATION: ("email",),
    SUSPEND_ANNOTATION: ("true", "false"),
    PREVIOUS_NAMES_ANNOTATION: (),
    POLICY_ANNOTATION: ("manage", "observe"),
}

# People API Person fields that accept at most one entry on a contact.
SINGLETONS = ("names", "biographies", "birthdays", "genders")


class Strict(BaseModel):
    # Attribute docstrings become descriptions in the JSON Schema: editors show them on hover.
    model_config = ConfigDict(
        strict=True, extra="forbid", frozen=True, use_attribute_docstrings=True
    )


class Metadata(Strict):
    """Identity of a resource: ``name`` is its stable key, unique per kind and account."""

    name: ResourceName
    """The stable key: lowercase letters, digits, '-' and '.'; unique per kind."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Free-form string labels, usable as selectors; never sent to Google."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Switches: reconciler/prune: "false" (never delete), reconciler/adopt: email (adopt),
    reconciler/previous-names: "old-a,old-b" (names this contact had: renamed in place)."""

    @field_validator("annotations")
    @classmethod
    def _known_reconciler_annotations(cls, annotations: dict[str, str]) -> dict[str, str]:
        for key, value in annotations.items():
            if not key.startswith("reconciler/"):
                continue
            allowed = KNOWN_ANNOTATIONS.get(key)
            if allowed is None:
                raise PydanticCustomError(
                    "annotation",
                    "unknown annotation {key}: the reconciler/ prefix is reserved",
                    {"key": repr(key)},
                )
            if key == PREVIOUS_NAMES_ANNOTATION:
                _check_previous_names(value)
            elif value not in allowed:
                raise PydanticCustomError(
                    "annotation",
                    "annotation {key} must be one of {allowed}, got {value}",
                    {
                        "key": repr(key),
                        "value": repr(value),
                        "allowed": ", ".join(map(repr, allowed)),
                    },
                )
        return annotations


def _check_previous_names(value: str) -> None:
    names = previous_names({PREVIOUS_NAMES_ANNOTATION: value})
    bad = [name for name in names if not re.fullmatch(NAME_PATTERN, name)]
    if not names or bad:
        raise PydanticCustomError(
            "annotation",
            "annotation {key} must list earlier metadata.name values separated by commas "
            "(lowercase letters, digits, '-' and '.'), got {value}",
            {"key": repr(PREVIOUS_NAMES_ANNOTATION), "value": repr(bad[0] if bad else value)},
        )


class ContactSpec(Strict):
    """The desired contact: People API Person fields (camelCase, API shapes) plus ``groups``."""

    names: list[Name] | None = Field(None, max_length=1)
    """The contact's name (one entry): givenName, familyName, middleName, honorifics..."""
    nicknames: list[BareNickname] | None = None
    """Nicknames; a bare string is the nickname itself."""
    emailAddresses: list[BareEmailAddress] | None = None
    """Email addresses; a bare string is the address, or give {value, type, displayName}."""
    phoneNumbers: list[BarePhoneNumber] | None = None
    """Phone numbers, with +country code or in the national format of the default region."""
    addresses: list[Address] | None = None
    """Postal addresses: streetAddress, city, postalCode, countryCode... or formattedValue."""
    organizations: list[Organization] | None = None
    """Employers and roles: name, title, department, startDate/endDate, current..."""
    occupations: list[BareOccupation] | None = None
    """Occupations; a bare string is the occupation."""
    biographies: list[BareBiography] | None = Field(None, max_length=1)
    """A short biography (one entry), plain text or HTML (contentType)."""
    birthdays: list[Birthday] | None = Field(None, max_length=1)
    """The birthday (one entry): a date {year?, month, day} or free text."""
    events: list[Event] | None = None
    """Dated events such as anniversaries: {date, type}."""
    relations: list[Relation] | None = None
    """People this contact is related to: {person, type} (spouse, manager, assistant...)."""
    urls: list[BareUrl] | None = None
    """Web pages; a bare string is the URL."""
    calendarUrls: list[CalendarUrl] | None = None
    """Calendar URLs: {url, type}."""
    imClients: list[ImClient] | None = None
    """Instant messaging accounts: {username, protocol, type}."""
    sipAddresses: list[BareSipAddress] | None = None
    """SIP addresses; a bare string is the address."""
    externalIds: list[BareExternalId] | None = None
    """Identifiers in other systems: {value, type}."""
    userDefined: list[UserDefined] | None = None
    """Custom fields: {key, value} pairs."""
    locations: list[BarePersonLocation] | None = None
    """Where the person works from: {value, type, buildingId, floor, deskCode...}."""
    miscKeywords: list[BareMiscKeyword] | None = None
    """Miscellaneous keywords: {value, type}."""
    interests: list[BareInterest] | None = None
    """Interests; a bare string is the interest."""
    locales: list[BareLocale] | None = None
    """Preferred locales as IETF BCP 47 tags (en-US, ja-JP)."""
    genders: list[BareGender] | None = Field(None, max_length=1)
    """Gender (one entry): {value, addressMeAs}."""
    groups: list[ResourceName] = Field(default_factory=list)
    """ContactGroup manifests (their metadata.name) this contact belongs to."""

    @model_validator(mode="after")
    def _fits_a_contact(self) -> ContactSpec:
        """At most as many fields, and as many bytes, as Google Contacts keeps in one contact."""
        count = sum(
            len(entries)
            for name in type(self).model_fields
            if name != "groups" and (entries := getattr(self, name))
        )
        if count > MAX_FIELDS_PER_CONTACT:
            raise PydanticCustomError(
                "limit",
                "has {count} entries; Google Contacts keeps at most {limit} fields in one contact",
                {"count": count, "limit": MAX_FIELDS_PER_CONTACT},
            )
        size = len(self.__pydantic_serializer__.to_json(self, exclude_none=True))
        if size > MAX_CONTACT_BYTES:
            raise PydanticCustomError(
                "limit",
                "is {size} bytes as API JSON; Google Contacts keeps at most {limit} in one contact",
                {"size": size, "limit": MAX_CONTACT_BYTES},
            )
        return self

    def person_fields(self) -> dict[str, list[dict[str, Any]]]:
        """The declared People API fields as API JSON (camelCase), without ``groups``.

        A field written as an empty list is declared (the manifest asks for it to be empty);
        a field not written at all is absent.
        """
        fields: dict[str, list[dict[str, Any]]] = {}
        declared = self.model_fields_set
        for name in type(self).model_fields:
            entries = getattr(self, name)
            if name == "groups" or name not in declared or entries is None:
                continue
            fields[name] = [entry.model_dump(exclude_none=True) for entry in entries]
        return fields


class GroupSpec(Strict):
    """The desired contact group: its display name."""

    name: Annotated[str, StringConstraints(min_length=1)]
    """The group's display name in Google Contacts."""


class ContactDocument(Strict):
    """One ``kind: Contact`` YAML document."""

    apiVersion: Literal["reconciler/v1"]
    kind: Literal["Contact"]
    metadata: Metadata
    spec: ContactSpec


class GroupDocument(Strict):
    """One ``kind: ContactGroup`` YAML document."""

    apiVersion: Literal["reconciler/v1"]
    kind: Literal["ContactGroup"]
    metadata: Metadata
    spec: GroupSpec


@dataclass(frozen=True, slots=True)
class ContactResource:
    """A validated contact manifest and where it was written.

    Read-only: the loader shares resources between loads of unchanged files.
    """

    name: str
    spec: ContactSpec
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    location: Location | None = None

    @property
    def prune(self) -> bool:
        """False when the manifest protects the live contact from deletion."""
        return self.annotations.get(PRUNE_ANNOTATION, "true") != "false"

    @property
    def adopt(self) -> str | None:
        """How to adopt an unstamped live contact (``"email"``), or None."""
        return self.annotations.get(ADOPT_ANNOTATION)


@dataclass(frozen=True, slots=True)
class GroupResource:
    """A validated contact group manifest and where it was written (read-only, shared)."""

    name: str
    spec: GroupSpec
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    location: Location | None = None
