"""The emulator's knobs.

Everything that makes the emulator harder than a perfect server is a field here, off by default,
so that a plain ``create_app()`` is a well-behaved People API and each test or benchmark turns on
exactly the misbehaviour it wants. The same names are the admin surface's JSON keys
(``PATCH /__emulator/config``) and, with dashes, the ``reconciler emulator`` flags.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EmulatorConfig(BaseModel):
    """Knobs of the emulator; all off (zero) by default."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: float = Field(0, ge=0, description="Added delay for every API request.")
    error_rate: float = Field(
        0, ge=0, le=1, description="Share of API requests answered with a random 500 or 503."
    )
    directory_error_rate: float = Field(
        0,
        ge=0,
        le=1,
        description="Share of Directory API requests (users.list, members.list) answered 503.",
    )
    read_quota_per_minute: int = Field(
        0,
        ge=0,
        description="Per-user critical read units per minute before 429s; 0 = unlimited.",
    )
    write_quota_per_minute: int = Field(
        0,
        ge=0,
        description="Per-user critical write units per minute before 429s; 0 = unlimited.",
    )
    group_read_quota_per_minute: int = Field(
        0,
        ge=0,
        description="Per-user contact group read units per minute before 429s; 0 = unlimited.",
    )
    group_write_quota_per_minute: int = Field(
        0,
        ge=0,
        description=(
            "Per-user units of contact deletes and contact group writes per minute before "
            "429s; 0 = unlimited."
        ),
    )
    project_read_quota_per_minute: int = Field(
        0,
        ge=0,
        description="Critical read units per minute of all users together; 0 = unlimited.",
    )
    project_write_quota_per_minute: int = Field(
        0,
        ge=0,
        description="Critical write units per minute of all users together; 0 = unlimited.",
    )
    project_group_read_quota_per_minute: int = Field(
        0,
        ge=0,
        description="Contact group read units per minute of all users together; 0 = unlimited.",
    )
    project_group_write_quota_per_minute: int = Field(
        0,
        ge=0,
        description=(
            "Units of contact deletes and contact group writes per minute of all users "
            "together; 0 = unlimited."
        ),
    )
    read_lag_ms: float = Field(
        0, ge=0, description="For this long after a write, get/batchGet return the old version."
    )
    sync_delay_ms: float = Field(
        0, ge=0, description="Changes younger than this are not yet seen by incremental syncs."
    )
    list_lag_ms: float = Field(
        0, ge=0, description="New contacts stay out of listings and searches for this long."
    )
    spurious_etag_rate: float = Field(
        0,
        ge=0,
        le=1,
        description=(
            "Share of updates, closely following another write to the same contact, rejected "
            "with the stale-etag error although their etag is current."
        ),
    )
    spurious_etag_window_ms: float = Field(
        2000, ge=0, description="How close a previous write must be for a spurious rejection."
    )
    editor_rate: float = Field(
        0,
        ge=0,
        le=1,
        description=(
            "Per API request, the chance that someone edits one of the user's contacts out of "
            "band (a phone number or a biography, as a person on a phone would)."
        ),
    )
    seed: int = Field(0, description="Seed of every random choice the emulator makes.")
    default_region: str = Field(
        "US", min_length=2, max_length=2, description="Region for phone numbers without '+'."
    )
