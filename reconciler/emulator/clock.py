"""Time as the emulator shows it: the People API's timestamp format.

Sync-token expiry, quotas and every lag knob are functions of time; the emulator reads it from a
:class:`reconciler.clock.Clock`, and tests hand it a :class:`~reconciler.clock.ManualClock`
that they move by hand instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(seconds: float) -> str:
    """``2026-01-01T00:00:00.123456Z``, the timestamp format of the People API."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
