"""Which replica owns which account.

One controller process scales to many accounts, but not to a whole large Workspace domain: the
People API paces writes per account, and one process has one event loop. So the chart can run N
replicas as a StatefulSet, and each replica reconciles only the accounts whose key hashes into its
shard. Kubernetes is the distributed engine: it keeps exactly one pod per ordinal, and the
ordinal is the shard index. There is no coordination between replicas and none is needed, because
the assignment is a pure function of the account key and the shard count.

Two rules follow from Google's "one writer per account":

- The hash must be stable across processes, machines and Python versions, so it is SHA-256 of the
  normalized key, never ``hash()`` (which is salted per process).
- With N shards every account belongs to exactly one shard.

The hash-to-shard step is Lamping and Veach's jump consistent hash rather than a plain modulo:
growing from N to N+1 shards moves only about 1/(N+1) of the accounts (all of them to the new
shard) instead of almost all of them, so a resize costs few cold starts.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "SINGLE",
    "Shard",
    "ShardSpecError",
    "account_hash",
    "parse_shard",
    "partition",
    "pod_ordinal",
    "shard_of",
]

_MASK64 = (1 << 64) - 1
_JUMP_MULTIPLIER = 2862933555777941757
_ORDINAL = re.compile(r"^(?P<set>[a-z0-9]([-a-z0-9.]*[a-z0-9])?)-(?P<ordinal>\d+)$")
_SPEC = re.compile(r"^\s*(?P<index>\d+|auto)\s*/\s*(?P<count>\d+)\s*$")
_EXAMPLE = "use I/N with 0 <= I < N (for example 0/3), or auto/N inside a StatefulSet"


class ShardSpecError(ValueError):
    """A ``--shard`` value that names no shard; the message says what to write instead."""


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` of ``count``: the replica that owns the accounts hashing to ``index``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ShardSpecError(f"shard count must be at least 1: {self.count}")
        if not 0 <= self.index < self.count:
            raise ShardSpecError(
                f"shard index must be between 0 and {self.count - 1}: {self.index}; {_EXAMPLE}"
            )

    def owns(self, key: str) -> bool:
        """Whether this shard reconciles the account ``key`` (its subject, e.g. an email)."""
        return shard_of(key, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


SINGLE = Shard(0, 1)
"""The only shard of an unsharded controller: it owns every account."""


def account_hash(key: str) -> int:
    """A 64-bit hash of an account key that is the same in every process and on every machine.

    Keys are compared without surrounding whitespace and without case, because
    ``Alice@Example.com`` and ``alice@example.com`` are the same mailbox and must never be owned
    by two replicas.
    """
    normalized = key.strip().casefold().encode("utf-8")
    return int.from_bytes(hashlib.sha256(normalized).digest()[:8], "big")


def _jump(hashed: int, count: int) -> int:
    """Jump consistent hash: a bucket in ``range(count)`` for a 64-bit key."""
    bucket, candidate = -1, 0
    while candidate < count:
        bucket = candidate
        hashed = (hashed * _JUMP_MULTIPLIER + 1) & _MASK64
        candidate = int((bucket + 1) * ((1 << 31) / ((hashed >> 33) + 1)))
    return bucket


def shard_of(key: str, count: int) -> int:
    """The index of the shard, out of ``count``, that owns the account ``key``."""
    if count < 1:
        raise ShardSpecError(f"shard count must be at least 1: {count}")
    return _jump(account_hash(key), count)


def partition(keys: Iterable[str], count: int) -> dict[int, list[str]]:
    """Every key under the shard that owns it; shards that own nothing map to an empty list."""
    owned: dict[int, list[str]] = {index: [] for index in range(count)}
    for key in keys:
        owned[shard_of(key, count)].append(key)
    return owned


def pod_ordinal(pod_name: str) -> int:
    """The ordinal of a StatefulSet pod from its name: ``reconciler-2`` -> ``2``."""
    match = _ORDINAL.match(pod_name.strip())
    if match is None:
        raise ShardSpecError(
            f"cannot read a StatefulSet ordinal from the pod name {pod_name!r}: expected "
            "<statefulset>-<ordinal>, for example contacts-reconciler-0; set POD_NAME from "
            "metadata.name, or pass an explicit --shard I/N"
        )
    return int(match.group("ordinal"))


def parse_shard(
    spec: str | None,
    *,
    pod_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Shard:
    """Parse a ``--shard`` value.

    - ``None`` or an empty string: the whole set of accounts (:data:`SINGLE`).
    - ``I/N``: shard ``I`` of ``N``.
    - ``auto/N``: the shard index is the ordinal of this StatefulSet pod, read from ``pod_name``,
      else the ``POD_NAME`` environment variable (the chart sets it from ``metadata.name``),
      else the hostname (which a StatefulSet sets to the pod name).
    """
    if spec is None or not spec.strip():
        return SINGLE
    match = _SPEC.match(spec)
    if match is None:
        raise ShardSpecError(f"invalid --shard {spec!r}: {_EXAMPLE}")
    count = int(match.group("count"))
    if count < 1:
        raise ShardSpecError(f"invalid --shard {spec!r}: the shard count must be at least 1")
    if match.group("index") != "auto":
        index = int(match.group("index"))
        if index >= count:
            raise ShardSpecError(f"invalid --shard {spec!r}: {_EXAMPLE}")
        return Shard(index, count)
    if pod_name is None:
        env = os.environ if environ is None else environ
        pod_name = env.get("POD_NAME") or socket.gethostname()
    ordinal = pod_ordinal(pod_name)
    if ordinal >= count:
        raise ShardSpecError(
            f"pod {pod_name!r} has ordinal {ordinal} but --shard {spec!r} has only {count} "
            "shards: the StatefulSet's replicas and the shard count must be equal"
        )
    return Shard(ordinal, count)
