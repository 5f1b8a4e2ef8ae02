"""The state directory: what one machine remembers between runs, and where.

Three things outlive a run on the machine that made it: the create journal (creates in flight,
see :mod:`reconciler.apply.journal`), the per-account write locks that go with it, and the
embedded emulator's address book. They live in one per-user directory, never in the working
directory: a journal that a second CI workspace, a second checkout or a ``cd`` cannot see
protects nothing. The default follows the XDG base directory spec, ``$XDG_STATE_HOME/reconciler``
(``~/.local/state/reconciler`` when the variable is unset or not absolute); ``--state-dir`` (or
``RECONCILER_STATE_DIR``) moves it, which a container should do onto a volume.

What protects an address book across machines is not here: that is the lease kept in the
address book itself (:mod:`reconciler.apply.lease`). This directory only lets runs on one
machine see each other's creates and notice that a holder on this machine has died.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

__all__ = ["APP_NAME", "EMBEDDED_FILE", "StateDir", "default_state_dir"]

APP_NAME = "reconciler"
EMBEDDED_FILE = "embedded.sqlite3"
INSTANCE_FILE = "instance-id"
LEGACY_EMBEDDED = Path(".reconciler") / EMBEDDED_FILE  # before the state directory existed


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/reconciler``, or ``~/.local/state/reconciler``.

    The XDG spec says a relative ``XDG_STATE_HOME`` is invalid and must be ignored.
    """
    base = os.environ.get("XDG_STATE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    return root / APP_NAME


@dataclass(frozen=True)
class StateDir:
    """One state directory (``root``), and the embedded state file when it is set elsewhere."""

    root: Path
    embedded_override: Path | None = None

    @classmethod
    def at(
        cls, directory: str | Path | None = None, *, embedded: str | Path | None = None
    ) -> StateDir:
        """The state directory ``directory`` (default: :func:`default_state_dir`)."""
        root = Path(directory).expanduser() if directory else default_state_dir()
        override = Path(embedded).expanduser().resolve() if embedded else None
        return cls(root.resolve(), override)

    @property
    def embedded_state(self) -> Path:
        """The embedded emulator's SQLite file."""
        return self.embedded_override or self.root / EMBEDDED_FILE

    def target_key(self, target: str) -> str:
        """The target as the journal keys it: an embedded target is its state file."""
        return f"embedded:{self.embedded_state}" if target == "embedded" else target

    def journal(self, *, target: str, account: str, owner: str) -> Path:
        """The create journal of one (target, account, owner).

        The file name is a digest, so that it holds neither the account nor any token.
        """
        return (
            self.root
            / "journals"
            / f"creates-{_digest(self.target_key(target), account, owner)}.jsonl"
        )

    def lease_lock(self, *, target: str, account: str) -> Path:
        """The local lock a lease holder of one address book keeps while it holds the lease
        (every owner's: the lease is the address book's, not an owner's)."""
        return self.root / "leases" / f"lease-{_digest(self.target_key(target), account)}.lock"

    def instance_id(self) -> str:
        """A random id for this state directory, made on first use and kept.

        A lease holder records it: a later run that finds the lease held under its own
        instance id and the journal's lock free knows the holder died on this machine.
        """
        path = self.root / INSTANCE_FILE
        try:
            return path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            pass
        self.root.mkdir(parents=True, exist_ok=True)
        candidate = self.root / f".{INSTANCE_FILE}.{uuid.uuid4().hex}"
        candidate.write_text(uuid.uuid4().hex + "\n", encoding="utf-8")
        try:
            os.link(candidate, path)  # atomic and never replaces: the first writer wins
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
        return path.read_text(encoding="utf-8").strip()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
