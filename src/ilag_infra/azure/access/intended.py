"""The intended access matrix (policy/access.yaml) and its comparison with the planned one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ilag_infra.azure.access.matrix import (
    CAPABILITIES,
    IDENTITY_KINDS,
    RECORDS_CAPABILITIES,
    Cell,
)
from ilag_infra.model.errors import InputError, Problem

SCOPES = ("none", "own", "all", "any")


@dataclass(frozen=True)
class Gap:
    identity: str
    capability: str
    reason: str


@dataclass(frozen=True)
class Intended:
    path: Path
    rows: dict[str, dict[str, str]]  # identity kind -> capability -> scope
    gaps: list[Gap]

    def expect(self, cell: Cell) -> bool | None:
        """True/False as intended, None when either is fine ("any")."""
        kind, _, own = cell.identity.partition(":")
        scope = self.rows.get(kind, {}).get(cell.capability, "none")
        if scope == "any":
            return None
        if scope == "all":
            return True
        if scope == "own":
            return own == cell.municipality
        return False

    def gap(self, cell: Cell) -> Gap | None:
        kind = cell.identity.partition(":")[0]
        return next(
            (g for g in self.gaps if g.identity == kind and g.capability == cell.capability), None
        )


def _bad(path: Path, key: str, what: str, fix: str) -> InputError:
    return InputError([Problem(str(path), key, what, fix)])


# Two tables in the file: what each identity may do to the backups (`identities`), and to
# the records containers beside them (`records`). A capability belongs to exactly one.
BACKUP_CAPABILITIES = tuple(c for c in CAPABILITIES if c not in RECORDS_CAPABILITIES)
SECTIONS = {"identities": BACKUP_CAPABILITIES, "records": RECORDS_CAPABILITIES}


def _section(
    path: Path, section: str, table: Any, allowed: tuple[str, ...]
) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    other = next(s for s in SECTIONS if s != section)
    for kind, caps in table.items():
        if kind not in IDENTITY_KINDS:
            # A misspelt row would silently intend "none" for the identity it meant.
            raise _bad(
                path,
                f"{section}.{kind}",
                "unknown identity",
                f"use one of {', '.join(IDENTITY_KINDS)}",
            )
        caps = caps or {}
        if not isinstance(caps, dict):
            raise _bad(path, f"{section}.{kind}", "is not a mapping", "capability: scope")
        for cap, scope in caps.items():
            if cap not in allowed:
                fix = (
                    f"move it under {other}.{kind}"
                    if cap in SECTIONS[other]
                    else f"use one of {', '.join(allowed)}"
                )
                raise _bad(path, f"{section}.{kind}.{cap}", "unknown capability", fix)
            if scope not in SCOPES:
                raise _bad(
                    path,
                    f"{section}.{kind}.{cap}",
                    f"unknown scope {scope!r}",
                    f"use one of {', '.join(SCOPES)}",
                )
        rows[str(kind)] = {str(c): str(s) for c, s in caps.items()}
    return rows


def load(path: Path) -> Intended:
    try:
        data: Any = YAML(typ="safe").load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        raise _bad(path, "(file)", f"cannot be read: {exc}", "restore it from git") from None
    if not isinstance(data, dict) or not isinstance(data.get("identities"), dict):
        raise _bad(path, "identities", "missing or not a mapping", "see docs/security.md")
    records = data.get("records") or {}
    if not isinstance(records, dict):
        raise _bad(path, "records", "is not a mapping", "identity: {capability: scope}")
    rows = _section(path, "identities", data["identities"], BACKUP_CAPABILITIES)
    for kind, caps in _section(path, "records", records, RECORDS_CAPABILITIES).items():
        rows.setdefault(kind, {}).update(caps)
    gaps = []
    for n, g in enumerate(data.get("gaps") or []):
        if not isinstance(g, dict) or not {"identity", "capability", "reason"} <= set(g):
            raise _bad(
                path, f"gaps[{n}]", "needs identity, capability and reason", "see docs/security.md"
            )
        if g["identity"] not in IDENTITY_KINDS or g["capability"] not in CAPABILITIES:
            raise _bad(
                path,
                f"gaps[{n}]",
                f"names an unknown identity or capability ({g['identity']}, {g['capability']})",
                f"identities: {', '.join(IDENTITY_KINDS)}; capabilities: {', '.join(CAPABILITIES)}",
            )
        gaps.append(Gap(str(g["identity"]), str(g["capability"]), str(g["reason"])))
    return Intended(path, rows, gaps)


@dataclass(frozen=True)
class Difference:
    cell: Cell
    intended: bool

    @property
    def message(self) -> str:
        c = self.cell
        want = "allowed" if self.intended else "denied"
        got = "allowed" if c.allowed else "denied"
        if c.capability.startswith("reach:"):
            what = f"{c.capability} ({c.municipality})"
        elif c.capability == "read-secret":
            what = f"{c.capability} on {c.municipality}'s secrets"
        elif c.capability in RECORDS_CAPABILITIES:
            what = f"{c.capability} on {c.municipality}'s records"
        else:
            what = f"{c.capability} on {c.municipality}'s backups"
        return f"{c.identity} {what} is {got}, intended {want}: {c.why}"


def compare(cells: list[Cell], intended: Intended) -> tuple[list[Difference], list[Cell]]:
    """(differences that fail the plan, allowed cells that are declared gaps)."""
    diffs: list[Difference] = []
    gaps: list[Cell] = []
    for cell in cells:
        want = intended.expect(cell)
        if want is None or want == cell.allowed:
            continue
        if cell.allowed and intended.gap(cell) is not None:
            gaps.append(cell)
            continue
        diffs.append(Difference(cell, want))
    return diffs, gaps
