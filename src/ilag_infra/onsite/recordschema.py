"""The one versioned schema of every run record (apply, check, backup, restore, drill, audit,
drift, alert, prune), and how long each kind of result stays fresh.

Writers build a record through `envelope` + `validate`, readers through `parse`, so a field
the report reads is always where and what the schema says. Fields a kind lists here are
read by the report; anything else a writer adds is detail for people and is never read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ilag_infra.model.errors import IlagError

SCHEMA_VERSION = 1
KINDS = ("apply", "check", "backup", "restore", "drill", "audit", "drift", "alert", "prune")

# How long a result answers its question. One place: the report and `ilag records` both age
# results by it (older than the window: Obs; older than twice the window: Feil).
FRESHNESS: dict[str, timedelta] = {
    "apply": timedelta(days=7),  # a full converge, at least weekly
    "check": timedelta(days=1),  # apply --check (the drift timer runs it daily)
    "drift": timedelta(days=1),
    "backup": timedelta(hours=26),  # nightly backups, with slack for a slow run
    "restore": timedelta(days=35),  # the monthly restore test
    "drill": timedelta(days=366),  # the yearly disaster-recovery drill
    "audit": timedelta(days=7),  # the weekly audit
    "prune": timedelta(days=35),  # the monthly central prune
}

FRESH, AGING, EXPIRED, MISSING = "fresh", "aging", "expired", "missing"


def age_state(kind: str, when: datetime | None, now: datetime) -> str:
    """fresh within the kind's window, aging past it, expired past twice it, missing without."""
    if when is None:
        return MISSING
    window = FRESHNESS.get(kind)
    if window is None:
        return FRESH
    age = now - when
    if age > 2 * window:
        return EXPIRED
    if age > window:
        return AGING
    return FRESH


class RecordError(IlagError):
    """A record that this version of ilag cannot read by its schema."""


class _Record(BaseModel):
    # Detail fields beyond the schema are kept for people (and for the JSON), never read.
    model_config = ConfigDict(extra="allow", frozen=True)

    schema_version: Literal[1]
    run_id: str
    # When the result was observed (the end of the run), always with a time zone.
    time: AwareDatetime
    who: str
    git_commit: str
    environment: str
    municipality: str
    # The writer's verdict: the one field that says whether the result is good.
    ok: bool


class ApplyHost(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    name: str
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0


class ApplyRecord(_Record):
    """`ilag apply`: one municipality, one playbook."""

    kind: Literal["apply"]
    playbook: str
    tags: str | None = None
    limit: str | None = None
    status: str
    rc: int
    hosts: dict[str, ApplyHost]


class CheckRecord(ApplyRecord):
    """`ilag apply --check`: changes nothing; a changed host is drift."""

    kind: Literal["check"]  # type: ignore[assignment]


class BackupHost(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    host: str
    state: str
    last_success: AwareDatetime | None = None
    fresh: bool


class BackupRecord(_Record):
    """`ilag backup status|run`: each backup client's last success as checked."""

    kind: Literal["backup"]
    action: Literal["status", "run"]
    max_age_hours: float
    hosts: list[BackupHost]


class RestoreRecord(_Record):
    """`ilag restore` and the scheduled restore test: one host's paths restored and compared."""

    kind: Literal["restore"]
    host: str
    error: str | None = None


class DrillHost(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    host: str
    ok: bool
    rto_seconds: float | None = None
    rpo_seconds: float | None = None


class DrillRecord(_Record):
    """The disaster-recovery drill: RTO and RPO measured, per host and overall."""

    kind: Literal["drill"]
    rto_seconds: float | None = None
    rpo_seconds: float | None = None
    hosts: list[DrillHost]


class AuditHost(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    host: str
    ok: bool
    failed: int = 0


class AuditRecord(_Record):
    """`ilag audit`: each host judged against its baseline."""

    kind: Literal["audit"]
    hosts: list[AuditHost]


class DriftHost(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    host: str
    # What differs from the wanted state (files, units), as the check run named it.
    items: list[str] = Field(default_factory=list)


class DriftRecord(_Record):
    """The node's drift check: hosts whose state differs from what the repository says."""

    kind: Literal["drift"]
    hosts: list[DriftHost]


class AlertRecord(_Record):
    """An alert sent once per problem (`ok` false while the problem is open)."""

    kind: Literal["alert"]
    problem: str
    channels: list[str] = Field(default_factory=list)


class PruneRecord(_Record):
    """The central prune of a municipality's repositories."""

    kind: Literal["prune"]


Record = Annotated[
    ApplyRecord
    | CheckRecord
    | BackupRecord
    | RestoreRecord
    | DrillRecord
    | AuditRecord
    | DriftRecord
    | AlertRecord
    | PruneRecord,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[Record] = TypeAdapter(Record)


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(record)'}: {e['msg']}" for e in exc.errors()[:5]
    )


def parse(data: Any, source: str) -> Record:
    """The record in `data` (read from `source`), or RecordError saying why and what to do."""
    if not isinstance(data, dict):
        raise RecordError(f"{source}: not a run record (a JSON object is expected)")
    version = data.get("schema_version")
    if version is None:
        raise RecordError(
            f"{source}: written before run records had a schema (no schema_version); "
            "it is not read. Run the command again to get a current record, or move the file "
            "out of runs/."
        )
    if version != SCHEMA_VERSION:
        newer = isinstance(version, int) and version > SCHEMA_VERSION
        raise RecordError(
            f"{source}: schema_version {version!r}, but this ilag reads {SCHEMA_VERSION}; "
            + ("update ilag to read it." if newer else "move the file out of runs/.")
        )
    kind = data.get("kind")
    if kind not in KINDS:
        raise RecordError(
            f"{source}: unknown kind {kind!r}; this ilag knows {', '.join(KINDS)}. "
            "Update ilag, or move the file out of runs/."
        )
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise RecordError(
            f"{source}: a {kind} record that does not follow schema {SCHEMA_VERSION}: "
            f"{_problems(exc)}"
        ) from None


def validate(data: dict[str, Any], source: str) -> dict[str, Any]:
    """The record a writer is about to write, checked against the schema (as JSON-ready data).

    A writer that breaks the schema is a bug: it must fail loudly before anything is stored."""
    record = parse(data, source)
    return record.model_dump(mode="json")


def envelope(
    kind: str,
    run_id: str,
    who: str,
    git_commit: str,
    environment: str,
    municipality: str,
    ok: bool,
    time: datetime | None = None,
) -> dict[str, Any]:
    """The fields every record carries."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "run_id": run_id,
        "time": (time or datetime.now(UTC)).isoformat(timespec="seconds"),
        "who": who,
        "git_commit": git_commit,
        "environment": environment,
        "municipality": municipality,
        "ok": ok,
    }
