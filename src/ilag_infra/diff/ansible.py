"""Which roles, variables and inventories a change touches, and whose servers that reaches.

The jobs live beside this module: reading a revision (ansible_view), its plays
(ansible_plays), host patterns (ansible_hosts) and variables (ansible_vars); this one puts
them together per changed path and per municipality.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ilag_infra.diff.ansible_hosts import every_host, group_hosts, playbook_hosts, role_hosts
from ilag_infra.diff.ansible_vars import VarChange, region_run_vars, var_changes
from ilag_infra.diff.ansible_view import View, read_view
from ilag_infra.diff.ansible_yaml import read_yaml
from ilag_infra.model import inventory

__all__ = ["AnsibleChange", "AnsibleDiff", "MunicipalityImpact", "VarChange", "View"]
__all__ += ["diff_ansible", "read_view", "var_changes"]

# Files that only the Azure plan reads: their effect is in the Azure section, not "nothing".
AZURE_INPUTS = ("stacks/", "policy/")
YAML = (".yml", ".yaml")


@dataclass
class AnsibleChange:
    """One changed file and what it reaches."""

    path: str
    kind: (
        str  # role | role-variables | playbook | inventory | inventory-variables | region | config
    )
    subject: str
    municipalities: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    variables: list[VarChange] = field(default_factory=list)
    note: str = ""


@dataclass
class MunicipalityImpact:
    slug: str
    name: str
    status: str = "changed"  # changed | new | removed | azure-only
    hosts: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass
class AnsibleDiff:
    changed_files: list[str] = field(default_factory=list)
    other_files: list[str] = field(default_factory=list)
    azure_files: list[str] = field(default_factory=list)  # stack config: see the Azure side
    changes: list[AnsibleChange] = field(default_factory=list)
    municipalities: list[MunicipalityImpact] = field(default_factory=list)
    region_changed: bool = False
    problems: list[str] = field(default_factory=list)  # head inventories that do not validate
    notes: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)


# --- the diff ---------------------------------------------------------------------------------


class _Impacts:
    def __init__(self, base: View, head: View) -> None:
        self.base, self.head = base, head
        self.by_slug: dict[str, MunicipalityImpact] = {}

    def name(self, slug: str) -> str:
        return self.head.names.get(slug) or self.base.names.get(slug) or slug

    def get(self, slug: str) -> MunicipalityImpact:
        if slug not in self.by_slug:
            self.by_slug[slug] = MunicipalityImpact(slug, self.name(slug))
        return self.by_slug[slug]

    def hosts(self, hosts: Iterable[str], reason: str) -> tuple[list[str], list[str]]:
        """Attribute hosts to their municipalities; returns (municipalities, hosts)."""
        slugs: set[str] = set()
        hosts = sorted(set(hosts))
        for host in hosts:
            slug = self.head.slug_of(host) or self.base.slug_of(host)
            if slug is None:
                continue
            slugs.add(slug)
            impact = self.get(slug)
            if host not in impact.hosts:
                impact.hosts.append(host)
            if reason not in impact.reasons:
                impact.reasons.append(reason)
        return sorted(slugs), hosts

    def slug(self, slug: str, reason: str, hosts: Iterable[str] | None = None) -> list[str]:
        impact = self.get(slug)
        chosen = sorted(
            set(hosts)
            if hosts is not None
            else set(self.head.hosts.get(slug, {})) | set(self.base.hosts.get(slug, {}))
        )
        for host in chosen:
            if host not in impact.hosts:
                impact.hosts.append(host)
        if reason not in impact.reasons:
            impact.reasons.append(reason)
        return chosen


def _vars_name(path: str) -> str:
    """group_vars/<name>.yml or group_vars/<name>/<file>.yml → <name>."""
    parts = path.split("/")
    return Path(parts[0]).stem if len(parts) == 1 else parts[0]


def _host_state(view: View, slug: str, host: str) -> tuple[Any, ...]:
    groups = view.hosts.get(slug, {}).get(host)
    if groups is None:
        return ()
    gv = view.group_vars.get(slug, {})
    return (
        sorted(groups),
        view.host_vars.get(host, {}),
        [gv.get(g, {}) for g in sorted(groups)],
    )


def _parsed(path: str, base: View, head: View, result: AnsibleDiff) -> tuple[Any, Any, str]:
    """Both revisions of a changed YAML file, and a note naming each side that does not parse
    (empty if both do). At head that is bad input (exit 2); at base the report says so."""
    old, old_bad = read_yaml(base.root / path)
    new, new_bad = read_yaml(head.root / path)
    notes = []
    for side, bad in (("base", old_bad), ("head", new_bad)):
        if bad is not None:
            where = f"{path}:{bad.line}" if bad.line else path
            text = f"{where} does not parse at {side}: {bad.message}; variables not compared"
            notes.append(text)
            (result.problems if side == "head" else result.notes).append(text)
    return old, new, "; ".join(notes)


def _var_changes(
    path: str, base: View, head: View, result: AnsibleDiff, with_values: bool
) -> tuple[list[VarChange], str]:
    """The variables a YAML file's change touches; none when a side does not parse, since its
    variables would otherwise all read as removed (or added)."""
    old, new, note = _parsed(path, base, head, result)
    return ([] if note else var_changes(old, new, with_values=with_values)), note


def diff_ansible(base: View, head: View, changed: list[str]) -> AnsibleDiff:
    """What the changed paths do to the on-site side, per municipality and host."""
    result = AnsibleDiff(changed_files=list(changed))
    result.problems = [
        str(p).replace(f"{head.root}/", "") + " (see `ilag validate`)" for p in head.problems
    ]
    impacts = _Impacts(base, head)
    views = (base, head)
    add = result.changes.append

    for slug in head.slugs:
        if slug not in base.slugs:
            impacts.get(slug).status = "new"
    for slug in base.slugs:
        if slug not in head.slugs:
            impacts.get(slug).status = "removed"

    for path in changed:
        parts = path.split("/")
        if parts[0] == "roles" and len(parts) >= 3:
            role = parts[1]
            hosts = role_hosts(views, role)
            reason = f"role {role}"
            munis, hosts_l = impacts.hosts(hosts, reason)
            if parts[2] in ("defaults", "vars") and path.endswith((".yml", ".yaml")):
                variables, bad = _var_changes(path, base, head, result, with_values=True)
                add(
                    AnsibleChange(
                        path,
                        "role-variables",
                        f"{role} {parts[2]}",
                        munis,
                        hosts_l,
                        variables,
                        note=bad,
                    )
                )
            else:
                bad = _parsed(path, base, head, result)[2] if path.endswith(YAML) else ""
                unused = "" if hosts_l else "no play of any playbook uses this role"
                note = "; ".join(n for n in (bad, unused) if n)
                add(AnsibleChange(path, "role", f"role {role}", munis, hosts_l, note=note))
        elif parts[0] == "playbooks" and path.endswith(YAML):
            book = Path(path).name
            bad = _parsed(path, base, head, result)[2]
            munis, hosts_l = impacts.hosts(playbook_hosts(views, book), f"playbook {book}")
            add(AnsibleChange(path, "playbook", f"playbook {book}", munis, hosts_l, note=bad))
        elif parts[0] == inventory.INVENTORY_DIR and len(parts) >= 2:
            _inventory_change(path, parts[1:], base, head, impacts, add, result)
        elif path == "region.yaml":
            result.region_changed = True
            _region_change(base, head, impacts, add)
        elif path in ("ansible.cfg", "requirements.yml", "collections/requirements.yml"):
            reason = f"{path} (every run)"
            munis, hosts_l = impacts.hosts(every_host(views), reason)
            add(AnsibleChange(path, "config", path, munis, hosts_l))
        elif path.startswith(AZURE_INPUTS) or path == "Pulumi.yaml":
            result.azure_files.append(path)
        else:
            result.other_files.append(path)

    for impact in impacts.by_slug.values():
        impact.hosts.sort()
    order = {s: i for i, s in enumerate([*head.slugs, *base.slugs])}
    result.municipalities = sorted(
        (i for i in impacts.by_slug.values() if i.hosts or i.reasons or i.status != "changed"),
        key=lambda i: order.get(i.slug, 999),
    )
    for impact in result.municipalities:
        if impact.status == "new" and not impact.reasons:
            impact.reasons.append("new municipality")
            impacts.slug(impact.slug, "new municipality")
        if impact.status == "changed" and not impact.hosts:
            impact.status = "azure-only"
    return result


def _inventory_change(
    path: str,
    rest: list[str],
    base: View,
    head: View,
    impacts: _Impacts,
    add: Any,
    result: AnsibleDiff,
) -> None:
    views = (base, head)
    first = rest[0]
    hosts: set[str]
    if first == "region.yml":
        munis, every = impacts.hosts(every_host(views), "inventories/region.yml")
        add(AnsibleChange(path, "inventory", "region-wide inventory", munis, every))
        return
    if first in ("group_vars", "host_vars") and len(rest) >= 2:
        name = _vars_name("/".join(rest[1:]))
        variables, bad = _var_changes(path, base, head, result, with_values=False)
        if first == "group_vars":
            hosts = every_host(views) if name == "all" else group_hosts(views, name)
            subject = f"region-wide group_vars for group {name}"
        else:
            hosts, subject = {name}, f"region-wide host_vars for {name}"
        munis, hosts_l = impacts.hosts(hosts, subject)
        add(
            AnsibleChange(path, "inventory-variables", subject, munis, hosts_l, variables, note=bad)
        )
        return
    slug = first
    status = impacts.get(slug).status
    label = impacts.name(slug)
    if len(rest) >= 3 and rest[1] in ("group_vars", "host_vars"):
        name = _vars_name("/".join(rest[2:]))
        variables, bad = _var_changes(path, base, head, result, with_values=False)
        if rest[1] == "group_vars":
            hosts = group_hosts(views, name, slug)
            subject = f"{label}: group_vars for group {name}"
        else:
            hosts, subject = {name}, f"{label}: host_vars for {name}"
        chosen = impacts.slug(slug, subject, hosts)
        add(
            AnsibleChange(path, "inventory-variables", subject, [slug], chosen, variables, note=bad)
        )
        return
    if rest[-1] == inventory.HOSTS_FILE and len(rest) == 2:
        if status in ("new", "removed"):
            reason = "new municipality" if status == "new" else "municipality removed"
            chosen = impacts.slug(slug, reason)
        else:
            hosts = set(head.hosts.get(slug, {})) | set(base.hosts.get(slug, {}))
            changed = {h for h in hosts if _host_state(base, slug, h) != _host_state(head, slug, h)}
            chosen = impacts.slug(slug, f"{label}: hosts.yml", changed)
        note = ", ".join(
            [f"+{h}" for h in chosen if h not in base.hosts.get(slug, {})]
            + [f"-{h}" for h in chosen if h not in head.hosts.get(slug, {})]
        )
        add(
            AnsibleChange(
                path,
                "inventory",
                f"{label}: hosts and groups",
                [slug],
                chosen,
                note=f"hosts added/removed: {note}" if note else "",
            )
        )
        return
    chosen = impacts.slug(slug, f"{label}: {'/'.join(rest[1:])}")
    add(AnsibleChange(path, "inventory", f"{label}: {'/'.join(rest[1:])}", [slug], chosen))


def _region_change(base: View, head: View, impacts: _Impacts, add: Any) -> None:
    if head.region is None:
        add(
            AnsibleChange(
                "region.yaml",
                "region",
                "region model",
                note="region.yaml does not validate at head; run `ilag validate`",
            )
        )
        return
    slugs = list(dict.fromkeys([*head.slugs, *base.slugs]))
    touched: list[str] = []
    hosts: list[str] = []
    notes: list[str] = []
    for slug in slugs:
        old = region_run_vars(base.region, slug)
        new = region_run_vars(head.region, slug)
        in_old = base.region is not None and slug in base.region.slugs
        in_new = slug in head.region.slugs
        old_m = (
            base.region.municipality(slug).model_dump(mode="json")
            if base.region is not None and in_old
            else None
        )
        new_m = head.region.municipality(slug).model_dump(mode="json") if in_new else None
        if old == new and old_m == new_m:
            continue
        touched.append(slug)
        if old is None and new is not None:
            hosts += impacts.slug(slug, "region.yaml: new municipality")
        elif new is None:
            hosts += impacts.slug(slug, "region.yaml: municipality removed")
        elif old is not None and old != new:
            keys = sorted(
                k
                for k in {**old["ilag_region"], **new["ilag_region"]}
                if old["ilag_region"].get(k) != new["ilag_region"].get(k)
            )
            hosts += impacts.slug(slug, f"region.yaml: run vars changed ({', '.join(keys)})")
            notes.append(f"{slug}: {', '.join(keys)}")
        else:
            impacts.slug(slug, "region.yaml: Azure-side settings only (see the Azure section)", [])
    add(
        AnsibleChange(
            "region.yaml",
            "region",
            "region model",
            touched,
            sorted(set(hosts)),
            note=("run vars changed: " + "; ".join(notes)) if notes else "",
        )
    )
