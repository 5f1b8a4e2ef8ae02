"""The fewest People API requests a piece of work can take, by method: one definition for every
benchmark that prints requests "against the floor".

A request count means something only beside what the work needs at least. The floor has two
parts, kept apart so that neither hides in the other:

- what the API's batch limits allow (``reconciler.model.limits``): listing pages of 1,000, one
  groups listing, one ``contactGroups.create`` per group (there is no batch form), and batch
  creates, updates and deletes of 200, 200 and 500 (deletes re-read their contacts first, 200 a
  call);
- what the design spends on purpose for safety, each item named where it is added: the address
  book's write lease (``reconciler.apply.lease``: find it in a groups listing, take it, give
  it back), the profile read that tells two accounts apart when they are one address book
  (``reconciler.controller.runner``), and the listing that shows our creates before the lease
  is given back or an apply returns (``reconciler.apply.visibility``).

Methods are named as the client names them (``people.batchCreateContacts``); the emulator's
statistics prefix them with the API's name (``people.people.batchCreateContacts``).
"""

from __future__ import annotations

import math
from collections import Counter

from reconciler.model.limits import (
    MAX_BATCH_CREATE,
    MAX_BATCH_DELETE,
    MAX_BATCH_GET,
    MAX_BATCH_UPDATE,
    MAX_PAGE_SIZE,
)

LISTING = "people.connections.list"
GROUPS_LISTING = "contactGroups.list"
GROUP_CREATE = "contactGroups.create"
GROUP_UPDATE = "contactGroups.update"
BATCH_CREATE = "people.batchCreateContacts"
BATCH_UPDATE = "people.batchUpdateContacts"
BATCH_GET = "people.getBatchGet"
BATCH_DELETE = "people.batchDeleteContacts"
PROFILE = "people.get"

EMULATOR_PREFIX = "people."  # the emulator counts "people." + the client's method name


def pages(items: int, per_call: int) -> int:
    """Calls for ``items`` at ``per_call`` a call; none for none."""
    return math.ceil(items / per_call)


def api_floor(
    *, listed: int, groups_created: int, created: int, updated: int = 0, deleted: int = 0
) -> Counter[str]:
    """What the API needs at least to plan from a book of ``listed`` contacts and then create,
    update and delete that many (``groups_created`` groups created on the way)."""
    return +Counter(
        {
            LISTING: max(1, pages(listed, MAX_PAGE_SIZE)),  # an empty book is one empty page
            GROUPS_LISTING: 1,  # a book's groups fit one page of 1,000
            GROUP_CREATE: groups_created,
            BATCH_CREATE: pages(created, MAX_BATCH_CREATE),
            BATCH_UPDATE: pages(updated, MAX_BATCH_UPDATE),
            BATCH_GET: pages(deleted, MAX_BATCH_GET),  # re-read right before deleting
            BATCH_DELETE: pages(deleted, MAX_BATCH_DELETE),
        }
    )


def lease(*, group_exists: bool, own_listing: bool = True, given_back: bool = True) -> Counter[str]:
    """One claim of the write lease: found in a groups listing (its own, unless ``own_listing``
    is False: the groups listing the work needs anyway can show it, when the claim comes
    first), taken by one write (the lease group's create the first time, an update after that),
    and given back by one more."""
    return +Counter(
        {
            GROUPS_LISTING: int(own_listing),
            GROUP_UPDATE if group_exists else GROUP_CREATE: 1,
        }
    ) + Counter({GROUP_UPDATE: int(given_back)})


def identity_check(accounts: int) -> Counter[str]:
    """The profile read (``people/me``) per account that tells whether two accounts of a
    replica are one address book; only made when there are several."""
    return +Counter({PROFILE: 1 if accounts > 1 else 0})


def visibility(*, listed: int, created: int) -> Counter[str]:
    """The listing that shows an apply's creates before it returns (none without creates)."""
    return +Counter({LISTING: pages(listed + created, MAX_PAGE_SIZE) if created else 0})


def from_emulator(by_method: dict[str, int]) -> Counter[str]:
    """The emulator's request counts under the client's method names."""
    return Counter(
        {method.removeprefix(EMULATOR_PREFIX): count for method, count in by_method.items()}
    )
