"""Compare two offline plans of a stack by URN: creates, updates, deletes and renames."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ilag_infra.diff.worker import FINGERPRINT
from ilag_infra.model.naming import PHYSICAL_NAME_KEYS
from ilag_infra.model.secrets import MASK

SECRET = MASK
CREATE, UPDATE, DELETE, REPLACE = "create", "update", "delete", "replace"
OPS = (CREATE, UPDATE, DELETE, REPLACE)


@dataclass
class PropertyChange:
    """One changed property at a nested path; kind is add, delete or update."""

    path: str
    kind: str
    old: Any = None
    new: Any = None
    secret: bool = False  # a secret value changed; old and new are masked


def is_masked(value: Any) -> bool:
    """A masked secret: the mask itself or a secret's fingerprint."""
    return isinstance(value, str) and (value == SECRET or bool(FINGERPRINT.fullmatch(value)))


def _has_fingerprint(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_fingerprint(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_fingerprint(v) for v in value)
    return isinstance(value, str) and FINGERPRINT.search(value) is not None


def mask_fingerprints(value: Any) -> Any:
    """Fingerprints are for comparing only: what is shown is the plain mask."""
    if isinstance(value, dict):
        return {k: mask_fingerprints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_fingerprints(v) for v in value]
    return FINGERPRINT.sub(SECRET, value) if isinstance(value, str) else value


def _masked_change(change: PropertyChange) -> PropertyChange:
    if not (_has_fingerprint(change.old) or _has_fingerprint(change.new)):
        return change
    return PropertyChange(
        change.path,
        change.kind,
        mask_fingerprints(change.old),
        mask_fingerprints(change.new),
        secret=True,
    )


@dataclass
class ResourceChange:
    op: str
    urn: str
    type: str
    name: str
    custom: bool = True
    azure_name: str | None = None
    changes: list[PropertyChange] = field(default_factory=list)
    old_urn: str | None = None  # a rename: the URN the resource had at base
    reason: str = ""  # why it is replaced, and what to do about it

    @property
    def needs_alias(self) -> bool:
        """Only the logical name changed: an alias keeps the Azure resource."""
        return self.op == REPLACE and self.old_urn is not None


@dataclass
class DerivedChange:
    """A value the program derives through a data source, such as a container's SAS."""

    op: str
    label: str
    token: str
    changes: list[PropertyChange] = field(default_factory=list)


@dataclass
class StackDiff:
    stack: str
    base_error: str | None = None
    head_error: str | None = None
    head_bad_input: bool = False  # the head plan refused its input (region, stack config)
    base_missing: bool = False  # the base revision has no Azure program at all
    resources: list[ResourceChange] = field(default_factory=list)
    outputs: list[PropertyChange] = field(default_factory=list)
    derived: list[DerivedChange] = field(default_factory=list)
    violations: list[dict[str, Any]] = field(default_factory=list)
    policies_checked: list[str] = field(default_factory=list)
    unchanged: int = 0
    source: str = "offline plan under mocks"

    def count(self, op: str) -> int:
        return sum(1 for r in self.resources if r.op == op and r.custom)

    @property
    def counts(self) -> dict[str, int]:
        return {op: self.count(op) for op in OPS}

    @property
    def mandatory_violations(self) -> int:
        return sum(1 for v in self.violations if v.get("enforcement") == "mandatory")

    @property
    def has_changes(self) -> bool:
        return bool(self.resources or self.outputs or self.derived)

    @property
    def failed(self) -> bool:
        return self.head_error is not None


def physical_name(type_: str, inputs: dict[str, Any]) -> str | None:
    """The resource's name in Azure from its inputs, or None if Azure would pick one."""
    cls = type_.rsplit(":", 1)[-1]
    keys = [PHYSICAL_NAME_KEYS.get(cls), cls[:1].lower() + cls[1:] + "Name", "name"]
    for key in keys:
        value = inputs.get(key) if key else None
        if isinstance(value, str) and value and not is_masked(value):
            return value
    return None


def _identity(type_: str, inputs: dict[str, Any]) -> tuple[str, ...] | None:
    """What makes two declarations the same Azure object: type, own name and every scoping
    name (resource group, account, vault …). Logical names play no part in Azure."""
    own = physical_name(type_, inputs)
    if own is None:
        return None
    scope = sorted(
        f"{k}={v}"
        for k, v in inputs.items()
        if isinstance(v, str) and (k.endswith("Name") or k == "scope")
    )
    return (type_, own, *scope)


def _forces_replacement(path: str) -> bool:
    """Top-level inputs that Azure cannot change in place: names, scopes and the location."""
    top = path.split(".", 1)[0].split("[", 1)[0]
    return top.endswith("Name") or top in ("location", "scope", "name")


def _label(item: Any) -> str | None:
    if isinstance(item, dict):
        for key in ("name", "key", "id"):
            if isinstance(item.get(key), str):
                return f"{key}={item[key]}"
    return None


def diff_values(old: Any, new: Any, path: str = "") -> list[PropertyChange]:
    """Nested differences as dotted paths; list items with names are matched by name. Secret
    fingerprints are compared, then shown only as the mask (the change flagged secret)."""
    return [_masked_change(c) for c in _diff_values(old, new, path)]


def _diff_values(old: Any, new: Any, path: str = "") -> list[PropertyChange]:
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[PropertyChange] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append(PropertyChange(sub, "add", None, new[key]))
            elif key not in new:
                out.append(PropertyChange(sub, "delete", old[key], None))
            else:
                out.extend(_diff_values(old[key], new[key], sub))
        return out
    if isinstance(old, list) and isinstance(new, list) and old and new:
        old_labels = [_label(i) for i in old]
        new_labels = [_label(i) for i in new]
        labelled = all(old_labels) and all(new_labels)
        if labelled and len(set(old_labels)) == len(old) and len(set(new_labels)) == len(new):
            olds = dict(zip(old_labels, old, strict=True))
            news = dict(zip(new_labels, new, strict=True))
            out = []
            for lab in [*old_labels, *[x for x in new_labels if x not in olds]]:
                assert lab is not None
                sub = f"{path}[{lab}]"
                if lab not in news:
                    out.append(PropertyChange(sub, "delete", olds[lab], None))
                elif lab not in olds:
                    out.append(PropertyChange(sub, "add", None, news[lab]))
                else:
                    out.extend(_diff_values(olds[lab], news[lab], sub))
            return out
        if len(old) == len(new) and all(isinstance(i, dict) for i in (*old, *new)):
            out = []
            for index, (a, b) in enumerate(zip(old, new, strict=True)):
                out.extend(_diff_values(a, b, f"{path}[{index}]"))
            return out
    return [PropertyChange(path or "(value)", "update", old, new)]


def alias_hint(old: dict[str, Any], new: dict[str, Any]) -> str:
    """The alias to add to the resource's existing ResourceOptions (its parent stays as it
    is): by name when only the name changed, else by the old URN."""
    if old["type"] == new["type"] and old.get("parent") == new.get("parent"):
        return f'aliases=[pulumi.Alias(name="{old["name"]}")]'
    return f'aliases=["{old["urn"]}"]'


def diff_resources(
    base: list[dict[str, Any]], head: list[dict[str, Any]]
) -> tuple[list[ResourceChange], int]:
    """Resource changes from base to head (plan resource dicts) and the unchanged count."""
    old = {r["urn"]: r for r in base}
    new = {r["urn"]: r for r in head}
    changes: list[ResourceChange] = []
    unchanged = 0
    # An alias in the program says "this is the resource once known by that URN": Pulumi
    # moves its state over, so the pair is compared like one resource, not deleted and created.
    renamed: dict[str, str] = {}  # new URN → old URN
    for urn, res in new.items():
        if urn in old:
            continue
        for alias in res.get("aliases") or []:
            if alias in old and alias not in new and alias not in renamed.values():
                renamed[urn] = alias
                break
    pairs = [(u, u) for u in sorted(set(old) & set(new))] + sorted(
        (o, n) for n, o in renamed.items()
    )
    for old_urn, urn in pairs:
        a, b = old[old_urn], new[urn]
        props = diff_values(a.get("inputs", {}), b.get("inputs", {}))
        if not props:
            unchanged += 1
            continue
        forcing = [p.path for p in props if _forces_replacement(p.path)]
        change = _change(REPLACE if forcing and b.get("custom", True) else UPDATE, b, props)
        if change.op == REPLACE:
            change.reason = (
                f"{', '.join(forcing)} changed: Azure cannot rename or move a resource, so it "
                "would be created anew and the old one deleted"
            )
        changes.append(change)
    created = [new[u] for u in sorted(set(new) - set(old) - set(renamed))]
    deleted = [old[u] for u in sorted(set(old) - set(new) - set(renamed.values()))]
    # A URN that changed while the Azure object stays the same: Pulumi would delete it and
    # create it again (a real outage for a gateway or a vault) unless the program adds an alias.
    by_identity: dict[tuple[str, ...], dict[str, Any]] = {}
    for res in deleted:
        key = _identity(res["type"], res.get("inputs", {}))
        if key is not None and res.get("custom", True):
            by_identity.setdefault(key, res)
    paired: set[str] = set()
    for res in created:
        key = _identity(res["type"], res.get("inputs", {}))
        match = by_identity.pop(key, None) if key is not None and res.get("custom") else None
        if match is None:
            # What is about to exist is worth reading: its inputs, one line per top-level key.
            changes.append(_change(CREATE, res, diff_values({}, res.get("inputs", {}) or {})))
            continue
        paired.add(match["urn"])
        change = _change(REPLACE, res, diff_values(match.get("inputs", {}), res.get("inputs", {})))
        change.old_urn = match["urn"]
        change.reason = (
            f"would replace: add an alias. The logical name changed from {match['name']!r} to "
            f"{res['name']!r} but the Azure resource is the same, so Pulumi would delete and "
            f"recreate it. Keep it: add {alias_hint(match, res)} to its ResourceOptions, "
            "beside the options it has"
        )
        changes.append(change)
    changes.extend(_change(DELETE, r, []) for r in deleted if r["urn"] not in paired)
    order = {REPLACE: 0, DELETE: 1, CREATE: 2, UPDATE: 3}
    changes.sort(key=lambda c: (order[c.op], not c.custom, c.urn))
    return changes, unchanged


def _change(op: str, res: dict[str, Any], props: list[PropertyChange]) -> ResourceChange:
    inputs = res.get("inputs", {}) or {}
    return ResourceChange(
        op=op,
        urn=res["urn"],
        type=res["type"],
        name=res["name"],
        custom=bool(res.get("custom", True)),
        azure_name=physical_name(res["type"], inputs) if res.get("custom", True) else None,
        changes=props,
    )


def diff_outputs(
    base: dict[str, Any], head: dict[str, Any], secret: set[str]
) -> list[PropertyChange]:
    """Stack output changes; a secret output is only reported as added or removed."""
    out = []
    for name in sorted(set(base) | set(head)):
        if name in secret:
            if name not in base:
                out.append(PropertyChange(name, "add", None, SECRET))
            elif name not in head:
                out.append(PropertyChange(name, "delete", SECRET, None))
            continue
        if name not in base:
            out.append(PropertyChange(name, "add", None, head[name]))
        elif name not in head:
            out.append(PropertyChange(name, "delete", base[name], None))
        else:
            out.extend(diff_values(base[name], head[name], name))
    return out


def _invoke_key(call: dict[str, Any]) -> str:
    args = call.get("args", {})
    ident = args.get("canonicalizedResource") or json.dumps(args, sort_keys=True)
    return f"{call.get('token')}|{ident}"


def _invoke_label(call: dict[str, Any]) -> str:
    args = call.get("args", {})
    token = str(call.get("token", ""))
    if token.endswith("listStorageAccountServiceSAS"):
        resource = str(args.get("canonicalizedResource", "?"))
        return f"SAS for {resource} (secret output, value never shown)"
    return token.rsplit(":", 1)[-1]


def diff_invokes(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> list[DerivedChange]:
    """Derived values (SAS tokens …) issued, withdrawn or re-issued with other parameters."""
    # Calls without arguments (the caller's own identity …) change nothing worth reviewing.
    old = {_invoke_key(c): c for c in base if c.get("args")}
    new = {_invoke_key(c): c for c in head if c.get("args")}
    out: list[DerivedChange] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a is None and b is not None:
            out.append(DerivedChange(CREATE, _invoke_label(b), str(b.get("token"))))
        elif b is None and a is not None:
            out.append(DerivedChange(DELETE, _invoke_label(a), str(a.get("token"))))
        elif a is not None and b is not None:
            props = diff_values(a.get("args", {}), b.get("args", {}))
            if props:
                out.append(DerivedChange(UPDATE, _invoke_label(b), str(b.get("token")), props))
    return out


def _violation_key(v: dict[str, Any]) -> tuple[str, str, str]:
    return (str(v.get("policy")), str(v.get("urn")), str(v.get("message")))


def diff_stack(stack: str, base: dict[str, Any] | None, head: dict[str, Any] | None) -> StackDiff:
    """One stack's diff from two worker entries ({stack, plan, invokes} or {stack, error})."""
    result = StackDiff(stack)
    base_plan: dict[str, Any] = {}
    head_plan: dict[str, Any] = {}
    if base is None:
        result.base_missing = True
    elif "error" in base:
        result.base_error = str(base["error"])
    else:
        base_plan = base.get("plan") or {}
    if head is None:
        result.head_error = "the head revision does not declare this stack"
    elif "error" in head:
        result.head_error = str(head["error"])
        result.head_bad_input = bool(head.get("bad_input"))
    else:
        head_plan = head.get("plan") or {}
    if result.head_error is not None:
        return result
    result.resources, result.unchanged = diff_resources(
        base_plan.get("resources", []), head_plan.get("resources", [])
    )
    secret = set(base_plan.get("secret_outputs", [])) | set(head_plan.get("secret_outputs", []))
    result.outputs = diff_outputs(
        base_plan.get("outputs", {}), head_plan.get("outputs", {}), secret
    )
    result.derived = diff_invokes(
        (base or {}).get("invokes", []) if base_plan else [], (head or {}).get("invokes", [])
    )
    known = {_violation_key(v) for v in base_plan.get("violations", [])}
    result.violations = [
        {**v, "new": _violation_key(v) not in known} for v in head_plan.get("violations", [])
    ]
    result.policies_checked = list(head_plan.get("policies_checked", []))
    return result
