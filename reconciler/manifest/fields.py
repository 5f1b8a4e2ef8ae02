"""The writable People API Person fields, as manifest entries.

Names and shapes are the API's own (camelCase, as in the ``Person`` schema of the discovery
document), so a manifest reads like the JSON the API takes and nobody has to learn a mapping.
Output-only sub-fields (``metadata``, ``formattedType``, ``displayName``, ``canonicalForm``...)
are deliberately absent: the server fills them in, so writing them could only ever be a mistake,
and unknown fields are errors.

Validation is strict (a YAML ``123`` is not the string ``"123"``) and checks what a person gets
wrong by hand: email syntax, phone numbers that cannot be parsed, impossible dates.
"""

from __future__ import annotations

import calendar
import re
from functools import lru_cache
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from reconciler.model.limits import MAX_FIELD_CHARACTERS

DEFAULT_REGION = "US"


def check_region(region: str) -> str:
    """``region`` upper-cased if phone numbers can be read in it; ValueError otherwise."""
    code = region.upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            f"unknown region {region!r}: use an ISO 3166 country code such as US or GB"
        )
    return code


_EMAIL = re.compile(
    r"""(?x)
    [^\s@"(),:;<>\[\]\\.]+(?:\.[^\s@"(),:;<>\[\]\\.]+)*   # local part: no empty dot-atoms
    @
    (?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+                   # domain labels
    [^\W\d_]{2,63}                                        # top-level domain: letters
    """
)


_PHONE_PROBLEMS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "has no valid country code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "is not a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "is too short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "is too short",
    phonenumbers.NumberParseException.TOO_LONG: "is too long",
}


class Entry(BaseModel):
    """Base of every manifest entry: strict types, unknown fields rejected, and no text longer
    than Google Contacts keeps in one field."""

    model_config = ConfigDict(
        strict=True, extra="forbid", frozen=True, str_max_length=MAX_FIELD_CHARACTERS
    )


def _bare_value(value: Any) -> Any:
    """``jane@example.com`` is shorthand for ``{value: jane@example.com}``."""
    return {"value": value} if isinstance(value, str) else value


class Date(Entry):
    """A calendar date; ``year`` may be left out for a date that recurs every year."""

    year: int | None = Field(None, json_schema_extra={"minimum": 1, "maximum": 9999})
    month: int | None = Field(None, json_schema_extra={"minimum": 1, "maximum": 12})
    day: int | None = Field(None, json_schema_extra={"minimum": 1, "maximum": 31})

    @field_validator("year")
    @classmethod
    def _year_in_range(cls, year: int | None) -> int | None:
        if year is not None and not 1 <= year <= 9999:
            raise PydanticCustomError("date", "year must be between 1 and 9999")
        return year

    @field_validator("month")
    @classmethod
    def _month_in_range(cls, month: int | None) -> int | None:
        if month is not None and not 1 <= month <= 12:
            raise PydanticCustomError("date", "month must be between 1 and 12")
        return month

    @field_validator("day")
    @classmethod
    def _day_in_range(cls, day: int | None) -> int | None:
        if day is not None and not 1 <= day <= 31:
            raise PydanticCustomError("date", "day must be between 1 and 31")
        return day

    def problem(self, *, full: bool) -> str | None:
        """Why this date is impossible (or incomplete when ``full``), or None if it is fine."""
        if full and (self.month is None or self.day is None):
            return "a date needs a month and a day (the year is optional)"
        if self.year is None and self.month is None and self.day is None:
            return "a date needs at least a year"
        if self.day is not None and self.month is None:
            return "a date with a day needs a month"
        if self.month is not None and self.day is not None:
            leap_year = 2000  # without a year, February 29 is a possible birthday
            days = calendar.monthrange(self.year or leap_year, self.month)[1]
            if self.day > days:
                if self.year:
                    return f"impossible date: that month has only {days} days that year"
                return "impossible date: that month never has that many days"
        return None


def _check_date(date: Date | None, *, full: bool) -> Date | None:
    if date is not None and (problem := date.problem(full=full)) is not None:
        raise PydanticCustomError("date", problem)
    return date


class Name(Entry):
    givenName: str | None = None
    familyName: str | None = None
    middleName: str | None = None
    honorificPrefix: str | None = None
    honorificSuffix: str | None = None
    phoneticFullName: str | None = None
    phoneticGivenName: str | None = None
    phoneticFamilyName: str | None = None
    phoneticMiddleName: str | None = None
    phoneticHonorificPrefix: str | None = None
    phoneticHonorificSuffix: str | None = None
    unstructuredName: str | None = None


class EmailAddress(Entry):
    value: str
    type: str | None = None
    displayName: str | None = None

    @field_validator("value")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        if len(value) > 254 or _EMAIL.fullmatch(value) is None:
            raise PydanticCustomError("email", "malformed email address")
        return value


class PhoneNumber(Entry):
    value: str
    type: str | None = None

    @field_validator("value")
    @classmethod
    def _parsable_phone(cls, value: str, info: ValidationInfo) -> str:
        region = (info.context or {}).get("default_region", DEFAULT_REGION)
        problem = phone_problem(value, region)
        if problem is not None:
            raise PydanticCustomError(
                "phone_number",
                "phone number cannot be parsed: it {why}",
                {"why": problem},
            )
        return value


@lru_cache(maxsize=1 << 16)
def phone_problem(value: str, region: str) -> str | None:
    """Why ``value`` is not a phone number in ``region`` (None if it is one).

    Cached: parsing is the costliest check of a load, and the controller reloads the same
    manifests after every change, so most numbers are seen again.
    """
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        return _PHONE_PROBLEMS.get(exc.error_type, "is not a phone number")
    if not phonenumbers.is_possible_number(number):
        return "has the wrong number of digits"
    return None


class Address(Entry):
    formattedValue: str | None = None
    type: str | None = None
    poBox: str | None = None
    streetAddress: str | None = None
    extendedAddress: str | None = None
    city: str | None = None
    region: str | None = None
    postalCode: str | None = None
    country: str | None = None
    countryCode: str | None = None


class Organization(Entry):
    type: str | None = None
    startDate: Date | None = None
    endDate: Date | None = None
    current: bool | None = None
    name: str | None = None
    phoneticName: str | None = None
    department: str | None = None
    title: str | None = None
    jobDescription: str | None = None
    symbol: str | None = None
    domain: str | None = None
    location: str | None = None
    costCenter: str | None = None
    fullTimeEquivalentMillipercent: int | None = None

    @field_validator("startDate", "endDate")
    @classmethod
    def _possible_date(cls, date: Date | None) -> Date | None:
        return _check_date(date, full=False)


class Biography(Entry):
    value: str
    contentType: Literal["CONTENT_TYPE_UNSPECIFIED", "TEXT_PLAIN", "TEXT_HTML"] | None = None


class Birthday(Entry):
    date: Date | None = None
    text: str | None = None

    @field_validator("date")
    @classmethod
    def _possible_date(cls, date: Date | None) -> Date | None:
        return _check_date(date, full=True)


class Url(Entry):
    value: str
    type: str | None = None


class Relation(Entry):
    person: str
    type: str | None = None


class Nickname(Entry):
    value: str
    type: (
        Literal[
            "DEFAULT",
            "MAIDEN_NAME",
            "INITIALS",
            "GPLUS",
            "OTHER_NAME",
            "ALTERNATE_NAME",
            "SHORT_NAME",
        ]
        | None
    ) = None


class Occupation(Entry):
    value: str


class Event(Entry):
    date: Date
    type: str | None = None

    @field_validator("date")
    @classmethod
    def _possible_date(cls, date: Date) -> Date:
        _check_date(date, full=True)
        return date


class ExternalId(Entry):
    value: str
    type: str | None = None


class UserDefined(Entry):
    key: str
    value: str


class ImClient(Entry):
    username: str
    type: str | None = None
    protocol: str | None = None


class SipAddress(Entry):
    value: str
    type: str | None = None


class CalendarUrl(Entry):
    url: str
    type: str | None = None


class PersonLocation(Entry):
    """A place a person can be found at work (a desk, a floor, a building)."""

    value: str
    type: str | None = None
    current: bool | None = None
    buildingId: str | None = None
    floor: str | None = None
    floorSection: str | None = None
    deskCode: str | None = None


class MiscKeyword(Entry):
    value: str
    type: (
        Literal[
            "TYPE_UNSPECIFIED",
            "OUTLOOK_BILLING_INFORMATION",
            "OUTLOOK_DIRECTORY_SERVER",
            "OUTLOOK_KEYWORD",
            "OUTLOOK_MILEAGE",
            "OUTLOOK_PRIORITY",
            "OUTLOOK_SENSITIVITY",
            "OUTLOOK_SUBJECT",
            "OUTLOOK_USER",
            "HOME",
            "WORK",
            "OTHER",
        ]
        | None
    ) = None


class Interest(Entry):
    value: str


class Locale(Entry):
    value: str


class Gender(Entry):
    value: str
    addressMeAs: str | None = None


# Entries that may also be written as a bare string, which is their ``value``.
BareEmailAddress = Annotated[
    EmailAddress, BeforeValidator(_bare_value, json_schema_input_type=str | EmailAddress)
]
BarePhoneNumber = Annotated[
    PhoneNumber, BeforeValidator(_bare_value, json_schema_input_type=str | PhoneNumber)
]
BareBiography = Annotated[
    Biography, BeforeValidator(_bare_value, json_schema_input_type=str | Biography)
]
BareUrl = Annotated[Url, BeforeValidator(_bare_value, json_schema_input_type=str | Url)]
BareNickname = Annotated[
    Nickname, BeforeValidator(_bare_value, json_schema_input_type=str | Nickname)
]
BareOccupation = Annotated[
    Occupation, BeforeValidator(_bare_value, json_schema_input_type=str | Occupation)
]
BareExternalId = Annotated[
    ExternalId, BeforeValidator(_bare_value, json_schema_input_type=str | ExternalId)
]
BareSipAddress = Annotated[
    SipAddress, BeforeValidator(_bare_value, json_schema_input_type=str | SipAddress)
]
BarePersonLocation = Annotated[
    PersonLocation, BeforeValidator(_bare_value, json_schema_input_type=str | PersonLocation)
]
BareMiscKeyword = Annotated[
    MiscKeyword, BeforeValidator(_bare_value, json_schema_input_type=str | MiscKeyword)
]
BareInterest = Annotated[
    Interest, BeforeValidator(_bare_value, json_schema_input_type=str | Interest)
]
BareLocale = Annotated[Locale, BeforeValidator(_bare_value, json_schema_input_type=str | Locale)]
BareGender = Annotated[Gender, BeforeValidator(_bare_value, json_schema_input_type=str | Gender)]


# Entry types a bare string may stand for (the string is the entry's ``value``).
VALUE_ENTRIES: tuple[type[Entry], ...] = (
    EmailAddress,
    PhoneNumber,
    Biography,
    Url,
    Nickname,
    Occupation,
    ExternalId,
    SipAddress,
    PersonLocation,
    MiscKeyword,
    Interest,
    Locale,
    Gender,
)

# Output-only sub-fields the server fills in: writing one in a manifest gets a specific hint.
OUTPUT_ONLY = frozenset(
    {
        "metadata",
        "formattedType",
        "formattedValue",
        "formattedProtocol",
        "displayName",
        "displayNameLastFirst",
        "canonicalForm",
        "contactGroupId",
        "resourceName",
        "etag",
    }
)
