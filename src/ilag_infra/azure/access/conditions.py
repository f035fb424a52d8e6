"""What an ABAC condition on a role-assignment writer lets its holder assign.

Only the shape that Microsoft documents for delegating role assignments is understood
(learn.microsoft.com/azure/role-based-access-control/delegate-role-assignments-examples):
`( ( !(ActionMatches{'…/roleAssignments/write'}) ) OR ( expr AND expr … ) )`, each expr an
`@Request[Microsoft.Authorization/roleAssignments:<attribute>] <operator> {values}`.
Anything else is read as no restriction at all: a condition this code cannot read must show as
a leak, never as safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WRITE = re.compile(
    r"\(\s*\(\s*!\s*\(\s*ActionMatches\s*\{\s*'Microsoft\.Authorization/roleAssignments/write'"
    r"\s*\}\s*\)\s*\)\s*OR\s*\((?P<body>[^()]*)\)\s*\)",
    re.IGNORECASE,
)
_EXPR = re.compile(
    r"@Request\[Microsoft\.Authorization/roleAssignments:(?P<attr>\w+)\]\s+"
    r"(?P<op>[\w:]+)\s*\{(?P<values>[^{}]*)\}",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Delegation:
    """What the holder may write. None means "any"."""

    roles: frozenset[str] | None  # role definition GUIDs it may assign
    roles_denied: frozenset[str]  # GUIDs it may not assign (a deny-list leaves the rest open)
    principal_types: frozenset[str] | None  # lower-case: group, serviceprincipal, user
    excluded_principals: frozenset[str]  # principal ids that may never be a target

    def may_assign(self, guid: str) -> bool:
        g = guid.lower()
        return (self.roles is None or g in self.roles) and g not in self.roles_denied

    def may_target(self, principal_type: str, principal_id: str = "") -> bool:
        if principal_id and principal_id.lower() in self.excluded_principals:
            return False
        return self.principal_types is None or principal_type.lower() in self.principal_types


UNRESTRICTED = Delegation(None, frozenset(), None, frozenset())


def _values(raw: str) -> frozenset[str]:
    return frozenset(v.strip().strip("'\"").lower() for v in raw.split(",") if v.strip())


def parse(condition: str | None) -> Delegation:
    """The limits a condition puts on new role assignments (the write action)."""
    if not condition:
        return UNRESTRICTED
    match = _WRITE.search(condition)
    if match is None:
        return UNRESTRICTED
    roles: frozenset[str] | None = None
    denied: frozenset[str] = frozenset()
    types: frozenset[str] | None = None
    excluded: frozenset[str] = frozenset()
    for part in re.split(r"\s+AND\s+", match["body"].strip(), flags=re.IGNORECASE):
        expr = _EXPR.fullmatch(part.strip())
        if expr is None:
            return UNRESTRICTED
        attr, op, values = expr["attr"].lower(), expr["op"].lower(), _values(expr["values"])
        if attr == "roledefinitionid" and op in ("foranyofanyvalues:guidequals", "guidequals"):
            roles = values if roles is None else roles & values
        elif attr == "roledefinitionid" and op == "foranyofallvalues:guidnotequals":
            denied |= values
        elif attr == "principaltype" and op in (
            "foranyofanyvalues:stringequalsignorecase",
            "stringequalsignorecase",
        ):
            types = values if types is None else types & values
        elif attr == "principalid" and op == "foranyofallvalues:guidnotequals":
            # "Not equal to every value in the set": the only operator that excludes each id.
            # ForAnyOfAnyValues:GuidNotEquals over two ids is true for every principal.
            excluded |= values
        elif attr == "principalid" and op in ("guidnotequals", "foranyofanyvalues:guidnotequals"):
            if len(values) == 1:
                excluded |= values
        else:
            return UNRESTRICTED
    return Delegation(roles, denied, types, excluded)
