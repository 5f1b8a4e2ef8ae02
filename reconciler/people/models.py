"""Typed wire models for the People API shapes the client sends and reads.

Every model allows extra fields: Google adds fields, and a read-modify-write must hand back
everything it read, including what we do not model. ``to_api()`` gives the exact camelCase JSON
(only the fields that were present), which is also what the rest of the product works with.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "ApiModel",
    "BatchCreateContactsRequest",
    "BatchCreateContactsResponse",
    "BatchGetResponse",
    "BatchUpdateContactsRequest",
    "BatchUpdateContactsResponse",
    "ClientData",
    "ContactGroup",
    "ContactToCreate",
    "ListConnectionsResponse",
    "ListContactGroupsResponse",
    "ModifyMembersResponse",
    "Person",
    "PersonMetadata",
    "PersonResponse",
    "Source",
    "Status",
]


class ApiModel(BaseModel):
    """camelCase on the wire, snake_case in Python, unknown fields kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel)

    def to_api(self) -> dict[str, Any]:
        """The JSON body, with exactly the fields that were read or set."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


class Source(ApiModel):
    type: str | None = None
    id: str | None = None
    etag: str | None = None
    update_time: str | None = None


class PersonMetadata(ApiModel):
    sources: list[Source] | None = None
    deleted: bool | None = None
    previous_resource_names: list[str] | None = None
    linked_people_resource_names: list[str] | None = None
    object_type: str | None = None


class ClientData(ApiModel):
    key: str | None = None
    value: str | None = None


class Person(ApiModel):
    """A contact. Field lists the client does not interpret stay plain JSON."""

    resource_name: str | None = None
    etag: str | None = None
    metadata: PersonMetadata | None = None
    client_data: list[ClientData] | None = None
    memberships: list[dict[str, Any]] | None = None
    names: list[dict[str, Any]] | None = None
    email_addresses: list[dict[str, Any]] | None = None
    phone_numbers: list[dict[str, Any]] | None = None

    @property
    def deleted(self) -> bool:
        """True for a sync-token tombstone."""
        return bool(self.metadata and self.metadata.deleted)


class ContactGroup(ApiModel):
    resource_name: str | None = None
    etag: str | None = None
    name: str | None = None
    formatted_name: str | None = None
    group_type: str | None = None
    member_count: int | None = None
    member_resource_names: list[str] | None = None
    client_data: list[ClientData] | None = None
    metadata: dict[str, Any] | None = None


class Status(ApiModel):
    """``google.rpc.Status`` as found on batch items."""

    code: int = 0
    message: str | None = None
    details: list[dict[str, Any]] | None = None


class PersonResponse(ApiModel):
    requested_resource_name: str | None = None
    http_status_code: int | None = None
    person: Person | None = None
    status: Status | None = None


class BatchGetResponse(ApiModel):
    responses: list[PersonResponse] = Field(default_factory=list)


class ContactToCreate(ApiModel):
    contact_person: Person


class BatchCreateContactsRequest(ApiModel):
    contacts: list[ContactToCreate]
    read_mask: str
    sources: list[str] | None = None


class BatchCreateContactsResponse(ApiModel):
    created_people: list[PersonResponse] = Field(default_factory=list)


class BatchUpdateContactsRequest(ApiModel):
    contacts: dict[str, Person]
    update_mask: str
    read_mask: str
    sources: list[str] | None = None


class BatchUpdateContactsResponse(ApiModel):
    update_result: dict[str, PersonResponse] = Field(default_factory=dict)


class ListConnectionsResponse(ApiModel):
    connections: list[Person] = Field(default_factory=list)
    next_page_token: str | None = None
    next_sync_token: str | None = None
    total_people: int | None = None
    total_items: int | None = None


class ListContactGroupsResponse(ApiModel):
    contact_groups: list[ContactGroup] = Field(default_factory=list)
    next_page_token: str | None = None
    next_sync_token: str | None = None
    total_items: int | None = None


class ModifyMembersResponse(ApiModel):
    not_found_resource_names: list[str] = Field(default_factory=list)
    can_not_remove_last_contact_group_resource_names: list[str] = Field(default_factory=list)
