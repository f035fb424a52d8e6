"""Azure role definitions and action matching, as Azure RBAC evaluates them.

"Azure RBAC determines the effective permissions by subtracting NotActions from Actions" and
the same for DataActions and NotDataActions; `*` matches any string, case-insensitively
(https://learn.microsoft.com/azure/role-based-access-control/role-definitions#notactions).
Built-in definitions come from builtin_roles.json (its source and date are in the file).
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

ROLE_DEFINITIONS_DOC = (
    "https://learn.microsoft.com/azure/role-based-access-control/role-definitions"
)


@dataclass(frozen=True)
class RoleDef:
    name: str
    guid: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()
    doc: str = ROLE_DEFINITIONS_DOC
    custom: bool = False

    def permits(self, action: str) -> bool:
        return _allowed(action, self.actions, self.not_actions)

    def permits_data(self, action: str) -> bool:
        return _allowed(action, self.data_actions, self.not_data_actions)


def _match(action: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def _allowed(action: str, allow: tuple[str, ...], deny: tuple[str, ...]) -> bool:
    return any(_match(action, p) for p in allow) and not any(_match(action, p) for p in deny)


@dataclass(frozen=True)
class Catalogue:
    """Built-in roles by name and by GUID, with the file's provenance."""

    source: str
    retrieved: str
    by_name: dict[str, RoleDef] = field(default_factory=dict)

    def by_guid(self, guid: str) -> RoleDef | None:
        g = guid.lower()
        return next((r for r in self.by_name.values() if r.guid == g), None)


def _tuple(data: dict[str, Any], key: str) -> tuple[str, ...]:
    return tuple(str(v) for v in data.get(key) or ())


@cache
def builtin() -> Catalogue:
    text = resources.files(__package__).joinpath("builtin_roles.json").read_text("utf-8")
    data = json.loads(text)
    roles = {
        name: RoleDef(
            name,
            str(r["id"]).lower(),
            _tuple(r, "actions"),
            _tuple(r, "notActions"),
            _tuple(r, "dataActions"),
            _tuple(r, "notDataActions"),
            str(r.get("doc") or data["source"]),
        )
        for name, r in data["roles"].items()
    }
    return Catalogue(str(data["source"]), str(data["retrieved"]), roles)


def custom_role(name: str, guid: str, permissions: list[dict[str, Any]]) -> RoleDef:
    """A custom role from a planned RoleDefinition's `permissions` input."""

    def all_of(key: str) -> tuple[str, ...]:
        return tuple(str(a) for p in permissions for a in (p.get(key) or ()))

    return RoleDef(
        name,
        guid.lower(),
        all_of("actions"),
        all_of("notActions"),
        all_of("dataActions"),
        all_of("notDataActions"),
        "https://learn.microsoft.com/azure/role-based-access-control/custom-roles",
        custom=True,
    )
