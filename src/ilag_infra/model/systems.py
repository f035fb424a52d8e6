"""The systems register (systems.yaml beside region.yaml): which line-of-business system runs
where, on which hosts, with which data paths, owner, criticality and recovery targets.

Read with the same bounded YAML reader as region.yaml; every problem names file, line, key
and fix. Whether the data paths are backed up is checked against the inventories in
model.validate, since that needs the inventories as well.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ilag_infra.model import backupset, yamlsource
from ilag_infra.model.errors import InputError, Problem
from ilag_infra.model.region import LoadedRegion
from ilag_infra.model.yamlsource import KeyPath, format_path, line_of

SYSTEMS_FILE = "systems.yaml"
Criticality = Literal["critical", "high", "medium", "low"]
Runs = Literal["onsite", "saas", "azure"]
# Restore order: the most critical first.
CRITICALITY_ORDER: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_ID = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


class SystemsError(InputError):
    """systems.yaml does not describe a valid register, or disagrees with the inventories."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Placement(_Model):
    """One municipality's use of a system."""

    product: str = Field(min_length=1)
    version: str = Field(min_length=1)
    runs: Runs
    hosts: tuple[str, ...] = ()
    data_paths: tuple[str, ...] = ()
    owner: str = Field(min_length=1)

    @field_validator("data_paths")
    @classmethod
    def _absolute(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            if not path.startswith("/") or ".." in PurePosixPath(path).parts:
                raise ValueError(f"{path!r} is not an absolute path; write it like /srv/arkiv")
        return tuple(str(PurePosixPath(p)) for p in value)


class Harmonisation(_Model):
    """The common product the region has chosen, and by when."""

    product: str = Field(min_length=1)
    by: dt.date


class System(_Model):
    id: str
    name: str = Field(min_length=1)
    sector: str = Field(min_length=1)
    vendor: str = Field(min_length=1)
    criticality: Criticality
    rto_hours: float = Field(gt=0)
    rpo_hours: float = Field(gt=0)
    harmonisation: Harmonisation
    municipalities: dict[str, Placement] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"{value!r} is not an id; write lowercase letters, digits and '-'")
        return value

    def harmonised(self, slug: str) -> bool:
        return self.municipalities[slug].product == self.harmonisation.product


class Register(_Model):
    # True for the shipped example: every page and plan then says the register is invented.
    example: bool = False
    systems: tuple[System, ...] = ()


@dataclass(frozen=True)
class LoadedSystems:
    register: Register
    path: Path
    lines: dict[KeyPath, int]

    def problem(self, key: KeyPath, message: str, fix: str) -> Problem:
        return Problem(str(self.path), format_path(key), message, fix, line_of(self.lines, key))

    def key_of(self, system: System, slug: str, *rest: str | int) -> KeyPath:
        index = self.register.systems.index(system)
        return ("systems", index, "municipalities", slug, *rest)

    def for_municipality(self, slug: str) -> list[System]:
        """The municipality's systems, most critical first (the restore order)."""
        mine = [s for s in self.register.systems if slug in s.municipalities]
        return sorted(mine, key=lambda s: (CRITICALITY_ORDER[s.criticality], s.rto_hours, s.id))


_FIXES = {
    "missing": "",
    "literal_error": "use one of the values named here",
    "float_parsing": "write a number of hours, e.g. 4",
    "float_type": "write a number of hours, e.g. 4",
    "greater_than": "write a number above zero",
    "string_too_short": "write a non-empty value",
    "too_short": "add at least one municipality",
    "date_from_datetime_parsing": "write a date as YYYY-MM-DD",
    "date_parsing": "write a date as YYYY-MM-DD",
    "date_type": "write a date as YYYY-MM-DD",
    "string_type": 'write text; quote it if YAML would read it otherwise, e.g. "5.2"',
}


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Register
    for part in loc:
        if isinstance(part, int) or part not in model.model_fields:
            continue
        annotation = str(model.model_fields[part].annotation)
        nxt = next(
            (m for m in (System, Placement, Harmonisation) if m.__name__ in annotation), None
        )
        if nxt is None:
            return None
        model = nxt
    return model


def _problems(exc: ValidationError, filename: str, lines: dict[KeyPath, int]) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        fix = _FIXES.get(str(err["type"]), "see the shipped systems.yaml for the form")
        if err["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1])
            known = sorted(parent.model_fields) if parent else []
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            msg = f"unknown key {loc[-1]!r}"
            fix = (
                f"did you mean {close[0]!r}?"
                if close
                else f"remove it; allowed: {', '.join(known)}"
            )
        elif err["type"] == "missing":
            fix = f"add {loc[-1]!r}"
        elif "write it like" in msg or "write lowercase" in msg:
            fix = msg[msg.index("write") :]
        out.append(Problem(filename, format_path(loc), msg, fix, line_of(lines, loc)))
    return out


def check(loaded: LoadedSystems, region: LoadedRegion) -> list[Problem]:
    """What the schema cannot see: unknown municipalities, duplicate ids, placement shape."""
    problems: list[Problem] = []
    slugs = region.model.slugs
    seen: set[str] = set()
    for index, system in enumerate(loaded.register.systems):
        if system.id in seen:
            problems.append(
                loaded.problem(
                    ("systems", index, "id"),
                    f"system id {system.id!r} is used twice",
                    "give every system its own id",
                )
            )
        seen.add(system.id)
        for slug, placement in system.municipalities.items():
            key = loaded.key_of(system, slug)
            if slug not in slugs:
                close = difflib.get_close_matches(slug, slugs, n=1)
                problems.append(
                    loaded.problem(
                        key,
                        f"{slug!r} is not a municipality in {region.path}",
                        f"did you mean {close[0]!r}?"
                        if close
                        else f"use one of {', '.join(slugs)}",
                    )
                )
            if placement.runs == "onsite" and not (placement.hosts and placement.data_paths):
                problems.append(
                    loaded.problem(
                        key,
                        f"{system.id} runs on site in {slug} but names no hosts or data paths",
                        "list its servers under hosts: and its data under data_paths:",
                    )
                )
            if placement.runs != "onsite" and (placement.hosts or placement.data_paths):
                problems.append(
                    loaded.problem(
                        (*key, "hosts"),
                        f"{system.id} runs as {placement.runs} in {slug} but names on-site "
                        "hosts or data paths",
                        "remove hosts and data_paths, or set runs: onsite",
                    )
                )
    return problems


def path_beside(region_file: Path) -> Path:
    return region_file.resolve().parent / SYSTEMS_FILE


def load(path: Path, region: LoadedRegion) -> LoadedSystems:
    """Load and check systems.yaml; raise SystemsError naming file, line, key and fix."""
    try:
        data, lines = yamlsource.load(path)
    except yamlsource.YamlSourceError as exc:
        raise SystemsError([exc.problem]) from None
    if not isinstance(data, dict):
        raise SystemsError(
            [
                Problem(
                    str(path),
                    "(top level)",
                    "expected a mapping with systems:",
                    "see the shipped systems.yaml",
                )
            ]
        )
    try:
        register = Register.model_validate(data)
    except ValidationError as exc:
        raise SystemsError(_problems(exc, str(path), lines)) from None
    loaded = LoadedSystems(register, path, lines)
    problems = check(loaded, region)
    if problems:
        raise SystemsError(problems)
    return loaded


def coverage_problems(
    loaded: LoadedSystems,
    hosts: dict[str, set[str]],
    backup_sets: dict[str, dict[str, list[str]]],
) -> list[Problem]:
    """Findings for on-site data that is not protected: a host missing from the
    municipality's inventory, or a data path outside its host's backup set.

    hosts: slug → host names in its inventory; backup_sets: slug → host → backup paths."""
    problems: list[Problem] = []
    for system in loaded.register.systems:
        for slug, placement in system.municipalities.items():
            known = hosts.get(slug, set())
            sets = backup_sets.get(slug, {})
            for h_index, host in enumerate(placement.hosts):
                where = f"system {system.id}, municipality {slug}, host {host}"
                if host not in known:
                    problems.append(
                        loaded.problem(
                            loaded.key_of(system, slug, "hosts", h_index),
                            f"{where}: the host is not in inventories/{slug}/hosts.yml",
                            f"add {host} to the inventory, or name one of: "
                            f"{', '.join(sorted(known)) or '(none)'}",
                        )
                    )
                    continue
                paths = sets.get(host)
                for p_index, path in enumerate(placement.data_paths):
                    if paths is not None and backupset.covers(paths, path):
                        continue
                    reason = (
                        f"is not in the host's backup set ({', '.join(paths)})"
                        if paths is not None
                        else "is not backed up: the host is not in backup_clients"
                    )
                    also = "" if paths is not None else f" and {host} to backup_clients"
                    problems.append(
                        loaded.problem(
                            loaded.key_of(system, slug, "data_paths", p_index),
                            f"{where}, path {path}: {reason}",
                            f"add {path} to backup_agent__host_paths in "
                            f"inventories/{slug}/host_vars/{host}.yml{also}, "
                            "or correct data_paths",
                        )
                    )
    return problems
