"""Which address book each running account writes, so that no two accounts write one.

Two entries can name one mailbox (an alias of it, or a Directory user who is also in the file
under another address): run side by side they would fight over its contacts, and with pruning
delete each other's. Only the server can tell: each account's own profile (``people/me``)
names its address book. The same check admits the accounts opened at start and those that
join later from a ``directory`` entry; it reads a profile only once there are two accounts to
compare, and at most once per running account (a profile that could not be read is asked
again at the next admission).

Accounts are admitted one by one as they are opened (as many at once as the fleet opens, see
:mod:`reconciler.controller.fleet`), each against those admitted before it. At start a shared
address book stops the controller before anything is written (the accounts file is wrong): the
fleet starts no account until every one has been admitted. A joiner
that shares one with a running account is refused, logged and left out (nothing is written
for it), and the next Directory refresh asks again, so it starts once the other has left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from reconciler.people.client import PeopleClient

__all__ = ["AddressBooks", "SharedAddressBook"]

_log = structlog.get_logger("reconciler.controller")


class SharedAddressBook(Exception):
    """An account is the address book of another account already admitted."""

    def __init__(self, account: str, holder: str, address_book: str) -> None:
        super().__init__(
            f"{account} is the address book {address_book} that {holder} already reconciles; "
            "give each mailbox one entry"
        )
        self.account, self.holder, self.address_book = account, holder, address_book


class AddressBooks:
    """The address book of each admitted account, read from its profile when needed."""

    def __init__(self) -> None:
        self._clients: dict[str, PeopleClient] = {}  # admitted or being admitted
        self._admitted: set[str] = set()
        self._reads: dict[str, asyncio.Task[str | None]] = {}

    async def admit(self, accounts: Sequence[tuple[str, PeopleClient]]) -> list[SharedAddressBook]:
        """Admit ``accounts`` (key, client), in order, and return those refused: each that
        is the address book of an account admitted before it (running, or earlier in
        ``accounts``). An account whose profile cannot be read is admitted unchecked (it
        fails on its own)."""
        for key, client in accounts:
            self._clients[key] = client
        try:
            if len(self._clients) > 1:  # theirs, and those of the admitted not known yet
                keys = [key for key, _ in accounts]
                keys += [key for key in self._admitted if self._book(key) is None]
                await asyncio.gather(*(self._read(key) for key in keys))
        except BaseException:
            for key, _ in accounts:
                self.forget(key)
            raise
        refused = []
        for key, _ in accounts:
            if key not in self._clients:  # forgotten while its profile was read
                continue
            book = self._book(key)
            holder = next((k for k in self._admitted if self._book(k) == book), None)
            if book is None or holder is None:
                self._admitted.add(key)
                continue
            self.forget(key)
            refused.append(SharedAddressBook(key, holder, book))
            _log.error(
                "two accounts are one address book; give each mailbox one entry",
                accounts=[holder, key],
                address_book=book,
            )
        return refused

    def forget(self, key: str) -> None:
        """``key`` stopped (or was never started): its address book is free again."""
        self._clients.pop(key, None)
        self._admitted.discard(key)
        read = self._reads.pop(key, None)
        if read is not None and not read.done():
            read.cancel()

    def _book(self, key: str) -> str | None:
        read = self._reads.get(key)
        return read.result() if read is not None and read.done() else None

    async def _read(self, key: str) -> None:
        """Read ``key``'s profile unless it was read already (or is being read)."""
        read = self._reads.get(key)
        if read is None or (read.done() and read.result() is None):
            read = self._reads[key] = asyncio.create_task(
                self._profile(self._clients[key]), name=f"profile:{key}"
            )
        await asyncio.wait({read})  # not cancelled with this admission: others may wait on it

    async def _profile(self, client: PeopleClient) -> str | None:
        try:
            return await client.address_book()
        except Exception as error:  # the account is left to fail on its own
            _log.warning(
                "cannot tell which address book an account is",
                account=client.account,
                error=f"{type(error).__name__}: {error}",
            )
            return None
