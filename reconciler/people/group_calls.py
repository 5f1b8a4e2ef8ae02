"""Contact group operations and ``members:modify`` (a mixin of :class:`PeopleClient`).

Group writes are rare and have no batch form; a stale group etag and a duplicate name are both
409 (:class:`Conflict`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.model.limits import MAX_MEMBER_CHANGES, MAX_PAGE_SIZE
from reconciler.people.batching import chunks, mask
from reconciler.people.transport import ClientConfig, Transport

__all__ = ["DEFAULT_GROUP_FIELDS", "GroupOperations"]

Group = dict[str, Any]
DEFAULT_GROUP_FIELDS = "name,groupType,memberCount,metadata,clientData"


class GroupOperations:
    """Contact group calls over a :class:`Transport`."""

    transport: Transport
    config: ClientConfig

    async def list_groups(
        self, group_fields: str | Sequence[str] = DEFAULT_GROUP_FIELDS
    ) -> list[Group]:
        """Every contact group (system groups included), all pages read."""
        groups: list[Group] = []
        page_token: str | None = None
        while True:
            params = [("groupFields", mask(group_fields)), ("pageSize", str(MAX_PAGE_SIZE))]
            if page_token:
                params.append(("pageToken", page_token))
            page = await self.transport.call(
                "contactGroups.list", "GET", "v1/contactGroups", params=params
            )
            groups.extend(page.get("contactGroups") or [])
            page_token = page.get("nextPageToken") or None
            if page_token is None:
                return groups

    async def get_group(self, resource_name: str, *, max_members: int = 0) -> Group:
        group: Group = await self.transport.call(
            "contactGroups.get",
            "GET",
            f"v1/{resource_name}",
            params=[("maxMembers", str(max_members)), ("groupFields", DEFAULT_GROUP_FIELDS)],
            resource=resource_name,
        )
        return group

    async def create_group(
        self, name: str, *, client_data: Sequence[Mapping[str, str]] = ()
    ) -> Group:
        """A new group; the answer carries its resource name and etag."""
        body: dict[str, Any] = {"contactGroup": {"name": name}}
        if client_data:
            body["contactGroup"]["clientData"] = [dict(entry) for entry in client_data]
        body["readGroupFields"] = DEFAULT_GROUP_FIELDS
        group: Group = await self.transport.call(
            "contactGroups.create",
            "POST",
            "v1/contactGroups",
            body=body,
            write=True,
            create=True,
        )
        return group

    async def update_group(
        self,
        group: Mapping[str, Any],
        update_group_fields: str | Sequence[str] = "name,clientData",
    ) -> Group:
        """Replace the masked fields of ``group`` (which carries ``resourceName`` and ``etag``)."""
        name = str(group.get("resourceName"))
        updated: Group = await self.transport.call(
            "contactGroups.update",
            "PUT",
            f"v1/{name}",
            body={
                "contactGroup": dict(group),
                "updateGroupFields": mask(update_group_fields),
                "readGroupFields": DEFAULT_GROUP_FIELDS,
            },
            write=True,
            resource=name,
        )
        return updated

    async def delete_group(self, resource_name: str, *, delete_contacts: bool = False) -> None:
        """Delete a group; its members stay unless ``delete_contacts``."""
        await self.transport.call(
            "contactGroups.delete",
            "DELETE",
            f"v1/{resource_name}",
            params=[("deleteContacts", "true" if delete_contacts else "false")],
            write=True,
            resource=resource_name,
        )

    async def modify_members(
        self,
        group_resource_name: str,
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
    ) -> dict[str, list[str]]:
        """Add and remove members, at most 1000 changes a call.

        Returns ``notFoundResourceNames`` and ``canNotRemoveLastContactGroupResourceNames``.
        """
        changes = [("add", name) for name in add] + [("remove", name) for name in remove]
        merged: dict[str, list[str]] = {
            "notFoundResourceNames": [],
            "canNotRemoveLastContactGroupResourceNames": [],
        }
        for chunk in chunks(changes, MAX_MEMBER_CHANGES):
            body: dict[str, list[str]] = {}
            adds = [name for kind, name in chunk if kind == "add"]
            removes = [name for kind, name in chunk if kind == "remove"]
            if adds:
                body["resourceNamesToAdd"] = adds
            if removes:
                body["resourceNamesToRemove"] = removes
            answer = await self.transport.call(
                "contactGroups.members.modify",
                "POST",
                f"v1/{group_resource_name}/members:modify",
                body=body,
                write=True,
                resource=group_resource_name,
            )
            for key, names in merged.items():
                names.extend(answer.get(key) or [])
        return merged
