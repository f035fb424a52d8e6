"""How long backups are kept: restic keep rules, region defaults with per-municipality overrides."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

KEEP_FIELDS = ("last", "hourly", "daily", "weekly", "monthly", "yearly")
MAX_KEEP = {
    "last": 10_000,
    "hourly": 24 * 366,
    "daily": 3_660,
    "weekly": 1_040,
    "monthly": 1_200,
    "yearly": 100,
}


class Retention(BaseModel):
    """restic `forget --keep-*` counts. A field left out inherits the region's value."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    # Upper bounds: a century of monthly or yearly snapshots, ten years of daily ones; a
    # larger count is a typo (10**30 would pass restic's own parsing unnoticed).
    last: int | None = Field(default=None, ge=0, le=MAX_KEEP["last"])
    hourly: int | None = Field(default=None, ge=0, le=MAX_KEEP["hourly"])
    daily: int | None = Field(default=None, ge=0, le=MAX_KEEP["daily"])
    weekly: int | None = Field(default=None, ge=0, le=MAX_KEEP["weekly"])
    monthly: int | None = Field(default=None, ge=0, le=MAX_KEEP["monthly"])
    yearly: int | None = Field(default=None, ge=0, le=MAX_KEEP["yearly"])

    def over(self, defaults: Retention | None) -> Retention:
        """These rules with every field left out taken from defaults."""
        if defaults is None:
            return self
        mine = self.model_dump(exclude_none=True)
        return Retention(**{**defaults.model_dump(exclude_none=True), **mine})

    @property
    def keeps_anything(self) -> bool:
        return any(getattr(self, f) for f in KEEP_FIELDS)

    def forget_args(self) -> list[str]:
        """The `restic forget` flags for these rules (zero counts are left out)."""
        return [f"--keep-{f}={getattr(self, f)}" for f in KEEP_FIELDS if getattr(self, f)]

    def describe(self) -> str:
        return ", ".join(f"{getattr(self, f)} {f}" for f in KEEP_FIELDS if getattr(self, f))


def resolve(region_default: Retention | None, municipality: Retention | None) -> Retention | None:
    """The rules in force for one municipality; None when neither level sets any."""
    if municipality is None:
        return region_default
    return municipality.over(region_default)
