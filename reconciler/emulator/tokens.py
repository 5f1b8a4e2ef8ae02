"""Opaque page and sync tokens.

Tokens carry what the next call needs (an offset, the change sequence number the listing is
anchored to, when the full sync happened) plus a fingerprint of the other parameters, because
Google requires a call with ``pageToken`` or ``syncToken`` to repeat every other parameter of
the call that produced it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from reconciler.emulator.errors import bad_request

SYNC_TOKEN_LIFETIME = 7 * 24 * 3600.0


def fingerprint(*parts: Any) -> str:
    """A short digest of the parameters a token is bound to."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode(kind: str, **values: Any) -> str:
    """An opaque token of ``kind`` (``page`` or ``sync``) holding ``values``."""
    data = json.dumps({"k": kind, **values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def decode(token: str, kind: str, user: str) -> dict[str, Any]:
    """The values of a token; a garbled, foreign or wrong-kind token is a 400."""
    what = "page token" if kind == "page" else "sync token"
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        valid = isinstance(data, dict) and data.get("k") == kind and data.get("u") == user
    except (ValueError, UnicodeDecodeError):
        valid = False
    if not valid:
        raise bad_request(f"The {what} is invalid: {token[:40]!r}.", field=what.replace(" ", "_"))
    return dict(data)


def mismatch(method: str, param: str) -> Exception:
    """The 400 for a page or sync token replayed with different parameters."""
    return bad_request(
        f"Parameters provided to {method} must match the first call that provided the {param}.",
        field=param,
    )
