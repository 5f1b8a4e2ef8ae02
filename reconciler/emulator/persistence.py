"""Optional SQLite write-through, so that an emulator's state survives a restart.

State lives in memory (the emulator is never the bottleneck); after each request the records
that request changed are written to the state file in one transaction. Loading reads every row
back into address books at start-up.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from reconciler.emulator.store import AddressBook, Contact, Group, Tombstone

SCHEMA = """
CREATE TABLE IF NOT EXISTS books (user TEXT PRIMARY KEY, seq INTEGER NOT NULL, warm INTEGER);
CREATE TABLE IF NOT EXISTS records (
    user TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (user, kind, key)
);
"""


def _contact_row(contact: Contact) -> str:
    data = {f.name: getattr(contact, f.name) for f in fields(Contact) if f.name != "previous"}
    return json.dumps(data, separators=(",", ":"))


class StateFileError(Exception):
    """The state file cannot be used; the message says which file and what to do."""


class Persistence:
    """Address books mirrored in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=NORMAL")
            self.connection.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise StateFileError(
                f"{path}: cannot use this file as the emulator's state ({error}); "
                "give another --state path or delete the file to start empty"
            ) from error

    def load(self) -> dict[str, AddressBook]:
        """Every address book stored in the file."""
        try:
            return self._load()
        except (sqlite3.Error, ValueError, TypeError, KeyError) as error:
            raise StateFileError(
                f"{self.path}: the emulator state in this file is unreadable ({error}); "
                "delete the file to start empty"
            ) from error

    def _load(self) -> dict[str, AddressBook]:
        books: dict[str, AddressBook] = {}
        for user, seq, warm in self.connection.execute("SELECT user, seq, warm FROM books"):
            books[user] = AddressBook(user, seq=seq, search_warm=bool(warm))
        rows = self.connection.execute("SELECT user, kind, key, data FROM records")
        for user, kind, _key, data in rows:
            book = books.setdefault(user, AddressBook(user))
            fields: dict[str, Any] = json.loads(data)
            if kind == "person":
                book.put_contact(Contact(**fields))
            elif kind == "group":
                book.put_group(Group(**fields))
            elif kind == "deleted_person":
                book.deleted_people[fields["resource_name"]] = Tombstone(**fields)
            elif kind == "deleted_group":
                book.deleted_groups[fields["resource_name"]] = Tombstone(**fields)
        for book in books.values():
            book.dirty.clear()
        return books

    def save(self, books: Iterable[AddressBook]) -> None:
        """Write every dirty record of ``books`` in one transaction."""
        pending = [book for book in books if book.dirty]
        if not pending:
            return
        cursor = self.connection.cursor()
        cursor.execute("BEGIN")
        try:
            for book in pending:
                self._save_book(cursor, book)
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise

    def _save_book(self, cursor: sqlite3.Cursor, book: AddressBook) -> None:
        upserts: list[tuple[str, str, str, str]] = []
        deletes: list[tuple[str, str, str]] = []
        for kind, key in book.dirty:
            if kind == "book":
                cursor.execute(
                    "INSERT OR REPLACE INTO books (user, seq, warm) VALUES (?, ?, ?)",
                    (book.user, book.seq, int(book.search_warm)),
                )
                continue
            live: Contact | Group | None
            tomb: Tombstone | None
            if kind == "person":
                live, tomb = book.people.get(key), book.deleted_people.get(key)
            else:
                live, tomb = book.groups.get(key), book.deleted_groups.get(key)
            if isinstance(live, Contact):
                upserts.append((book.user, kind, key, _contact_row(live)))
            elif isinstance(live, Group):
                upserts.append((book.user, kind, key, json.dumps(asdict(live))))
            else:
                deletes.append((book.user, kind, key))
            if tomb is not None:
                upserts.append((book.user, f"deleted_{kind}", key, json.dumps(asdict(tomb))))
            else:
                deletes.append((book.user, f"deleted_{kind}", key))
        cursor.execute(
            "INSERT OR IGNORE INTO books (user, seq, warm) VALUES (?, ?, ?)",
            (book.user, book.seq, int(book.search_warm)),
        )
        cursor.executemany(
            "INSERT OR REPLACE INTO records (user, kind, key, data) VALUES (?, ?, ?, ?)", upserts
        )
        cursor.executemany("DELETE FROM records WHERE user = ? AND kind = ? AND key = ?", deletes)

    def forget(self, users: Iterable[str]) -> None:
        """Delete everything stored (after a reset)."""
        del users  # a reset forgets every user, stored or not
        self.connection.executescript("BEGIN; DELETE FROM records; DELETE FROM books; COMMIT;")

    def close(self) -> None:
        """Close the file."""
        self.connection.close()
