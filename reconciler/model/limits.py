"""The People API's limits: the one place the numbers live.

The planner cuts batches by them, the client and the apply engine send what fits, validation
refuses what cannot be written, and the emulator enforces them, so each number is defined here
once and imported everywhere else. Sources: the People API discovery document and reference
pages (see docs/people-api.md for each figure and how sure we are of it).
"""

from __future__ import annotations

from typing import Final

# Batch write methods (people.batchCreateContacts, batchUpdateContacts, batchDeleteContacts).
MAX_BATCH_CREATE: Final = 200
MAX_BATCH_UPDATE: Final = 200
MAX_BATCH_DELETE: Final = 500

# Batch reads (people.getBatchGet, contactGroups.batchGet).
MAX_BATCH_GET: Final = 200

# Listings (people.connections.list, contactGroups.list): pageSize 1..1000.
MAX_PAGE_SIZE: Final = 1000

# The multipart /batch endpoint: inner calls per request.
MAX_MULTIPART_CALLS: Final = 1000

# contactGroups.members.modify: resource names added plus removed per call.
MAX_MEMBER_CHANGES: Final = 1000

# connections.list returns at most this many values of each of these fields per person;
# people.get and getBatchGet return them all (Google's Person reference, emailAddresses and
# phoneNumbers: "the entire set can be obtained by calling GetPeople").
MAX_LISTED_VALUES: Final = 100
LISTED_VALUE_FIELDS: Final = ("emailAddresses", "phoneNumbers")

# Contacts per user (Google Contacts' published account limit; the People API's answer beyond it
# is not published, so the emulator's 400 is inferred: docs/people-api.md, "Limits").
MAX_CONTACTS_PER_USER: Final = 25_000

# Per contact and per field. The People API reference publishes no size limits for Person
# fields; Google Contacts' own account limits (as its help pages state them: 500 fields per
# contact, 1,024 characters per field, 128 KB per contact) are the ones a write must also fit,
# so manifests are held to them (docs/people-api.md, "Limits").
MAX_FIELD_CHARACTERS: Final = 1024
MAX_FIELDS_PER_CONTACT: Final = 500
MAX_CONTACT_BYTES: Final = 128 * 1024
