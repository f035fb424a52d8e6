"""Which roles, variables and inventories a change touches, and whose servers that reaches."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ilag_infra.model import inventory
from ilag_infra.model.errors import IlagError
from ilag_infra.model.region import Region
from ilag_infra.model.region import load as load_region
from ilag_infra.model.secrets import MASK, is_secret_name, mask_mapping
from ilag_infra.onsite import outputs

SECRET = MASK
# Variable names whose values are never printed, even from role defaults.
_SECRET_NAME = re.compile(r"pass|secret|token|sas|credential|private|vault|_key\b|key$", re.I)
_MAX_VALUE = 160
_ROLE_TASK_KEYS = ("tasks", "pre_tasks", "post_tasks", "handlers")
_NESTED_TASK_KEYS = ("block", "rescue", "always")
_ROLE_MODULES = {
    "include_role",
    "import_role",
    "ansible.builtin.include_role",
    "ansible.builtin.import_role",
}
_IMPORT_PLAYBOOK = {"import_playbook", "ansible.builtin.import_playbook"}
# Files that only the Azure plan reads: their effect is in the Azure section, not "nothing".
AZURE_INPUTS = ("stacks/", "policy/")


@dataclass
class VarChange:
    name: str
    kind: str  # add | delete | update
    old: str | None = None
    new: str | None = None


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
    notes: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)


# --- reading one revision -------------------------------------------------------------------


def _plain(node: Any) -> Any:
    """ruamel round-trip data as plain values; encrypted (!vault) values stay hidden."""
    tag = getattr(getattr(node, "tag", None), "value", None)
    if isinstance(tag, str) and "vault" in tag:
        return SECRET
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


def load_yaml(path: Path) -> Any:
    """A YAML file as plain data; None if it is missing or unreadable (the diff goes on)."""
    if not path.is_file():
        return None
    try:
        return _plain(YAML(typ="rt").load(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, YAMLError):
        return None


@dataclass
class Play:
    playbook: str
    pattern: str
    roles: set[str]


@dataclass
class View:
    """One revision's Ansible side: municipalities, their hosts and groups, plays, roles."""

    root: Path
    region: Region | None
    names: dict[str, str]
    hosts: dict[str, dict[str, set[str]]]  # slug → host → groups (with ancestors, 'all', slug)
    host_vars: dict[str, dict[str, Any]]  # host → vars written inline in hosts.yml
    group_vars: dict[str, dict[str, dict[str, Any]]]  # slug → group → inline vars
    plays: list[Play]
    imports: dict[str, list[str]]  # playbook → playbooks it imports

    @property
    def slugs(self) -> list[str]:
        return list(self.hosts)

    def all_hosts(self) -> dict[str, set[str]]:
        return {h: g for per in self.hosts.values() for h, g in per.items()}

    def slug_of(self, host: str) -> str | None:
        for slug, per in self.hosts.items():
            if host in per:
                return slug
        return None


def _walk_groups(
    node: Any,
    chain: tuple[str, ...],
    hosts: dict[str, set[str]],
    hvars: dict[str, dict[str, Any]],
    gvars: dict[str, dict[str, Any]],
) -> None:
    if not isinstance(node, dict):
        return
    if isinstance(node.get("vars"), dict):
        gvars.setdefault(chain[-1], {}).update(node["vars"])
    for name, value in (node.get("hosts") or {}).items():
        hosts.setdefault(str(name), set()).update(chain)
        if isinstance(value, dict):
            hvars.setdefault(str(name), {}).update(value)
    for child, cnode in (node.get("children") or {}).items():
        _walk_groups(cnode, (*chain, str(child)), hosts, hvars, gvars)


def _role_names(tasks: Any) -> set[str]:
    found: set[str] = set()
    for task in tasks if isinstance(tasks, list) else []:
        if not isinstance(task, dict):
            continue
        for key in _ROLE_MODULES & set(task):
            spec = task[key]
            name = spec.get("name") if isinstance(spec, dict) else spec
            if isinstance(name, str):
                found.add(name)
        for key in _NESTED_TASK_KEYS:
            found |= _role_names(task.get(key))
    return found


def _role_deps(root: Path) -> dict[str, set[str]]:
    deps: dict[str, set[str]] = {}
    roles_dir = root / "roles"
    for meta in sorted(roles_dir.glob("*/meta/main.yml")) if roles_dir.is_dir() else []:
        data = load_yaml(meta) or {}
        out: set[str] = set()
        for dep in data.get("dependencies") or [] if isinstance(data, dict) else []:
            name = dep.get("role") or dep.get("name") if isinstance(dep, dict) else dep
            if isinstance(name, str):
                out.add(name)
        deps[meta.parent.parent.name] = out
    return deps


def _with_deps(roles: set[str], deps: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(roles)
    while todo:
        role = todo.pop()
        if role not in seen:
            seen.add(role)
            todo.extend(deps.get(role, ()))
    return seen


def _read_plays(root: Path) -> tuple[list[Play], dict[str, list[str]]]:
    plays: list[Play] = []
    imports: dict[str, list[str]] = {}
    deps = _role_deps(root)
    pb_dir = root / "playbooks"
    files = sorted([*pb_dir.glob("*.yml"), *pb_dir.glob("*.yaml")]) if pb_dir.is_dir() else []
    for book in files:
        data = load_yaml(book)
        for item in data if isinstance(data, list) else []:
            if not isinstance(item, dict):
                continue
            for key in _IMPORT_PLAYBOOK & set(item):
                imports.setdefault(book.name, []).append(Path(str(item[key])).name)
            if "hosts" not in item:
                continue
            roles: set[str] = set()
            for entry in item.get("roles") or []:
                name = entry.get("role") or entry.get("name") if isinstance(entry, dict) else entry
                if isinstance(name, str):
                    roles.add(name)
            for key in _ROLE_TASK_KEYS:
                roles |= _role_names(item.get(key))
            pattern = item["hosts"]
            if isinstance(pattern, list):
                pattern = ",".join(str(p) for p in pattern)
            plays.append(Play(book.name, str(pattern), _with_deps(roles, deps)))
    return plays, imports


def read_view(root: Path) -> View:
    """Read a revision checked out at root; what cannot be read is left out, not fatal."""
    region: Region | None
    try:
        region = load_region(root / "region.yaml").model
    except IlagError:
        region = None
    inv_dir = root / inventory.INVENTORY_DIR
    slugs = list(region.slugs) if region else []
    if inv_dir.is_dir():
        for entry in sorted(inv_dir.iterdir()):
            shared = entry.name in inventory.SHARED_ENTRIES
            if entry.is_dir() and not shared and entry.name not in slugs:
                slugs.append(entry.name)
    names = {m.slug: m.name for m in region.municipalities} if region else {}
    hosts: dict[str, dict[str, set[str]]] = {}
    hvars: dict[str, dict[str, Any]] = {}
    gvars: dict[str, dict[str, dict[str, Any]]] = {}
    for slug in slugs:
        per: dict[str, set[str]] = {}
        if inventory.inventory_path(root, slug).is_file():
            inv, _, _ = inventory.load(root, slug)
            for host in inv.hosts.values():
                per[host.name] = {"all", slug, *host.groups}
            data = load_yaml(inventory.inventory_path(root, slug))
            if isinstance(data, dict):
                _walk_groups(data.get("all"), ("all",), per, hvars, gvars.setdefault(slug, {}))
        for groups in per.values():
            groups.add(slug)
        hosts[slug] = per
    plays, imports = _read_plays(root)
    return View(root, region, names, hosts, hvars, gvars, plays, imports)


# --- host patterns ----------------------------------------------------------------------------


def match_pattern(pattern: str, hosts: dict[str, set[str]]) -> set[str]:
    """Hosts an Ansible `hosts:` pattern selects: groups, names, globs, `!` and `&`."""
    if "{{" in pattern:
        return set(hosts)  # decided at run time: assume every host
    selected: set[str] = set()
    intersect: list[set[str]] = []
    exclude: set[str] = set()
    for raw in re.split(r"[,:]", pattern):
        part = raw.strip()
        if not part:
            continue
        op = part[0] if part[0] in "!&" else ""
        name = part[1:] if op else part
        if name in ("all", "*"):
            found = set(hosts)
        else:
            found = {
                h
                for h, groups in hosts.items()
                if fnmatch.fnmatchcase(h, name) or any(fnmatch.fnmatchcase(g, name) for g in groups)
            }
        if op == "!":
            exclude |= found
        elif op == "&":
            intersect.append(found)
        else:
            selected |= found
    for extra in intersect:
        selected &= extra
    return selected - exclude


def _playbook_closure(view: View, book: str) -> set[str]:
    seen: set[str] = set()
    todo = [book]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(view.imports.get(name, []))
    return seen


def role_hosts(views: Iterable[View], role: str) -> set[str]:
    out: set[str] = set()
    for view in views:
        every = view.all_hosts()
        for play in view.plays:
            if role in play.roles:
                out |= match_pattern(play.pattern, every)
    return out


def playbook_hosts(views: Iterable[View], book: str) -> set[str]:
    out: set[str] = set()
    for view in views:
        books = _playbook_closure(view, book)
        every = view.all_hosts()
        for play in view.plays:
            if play.playbook in books:
                out |= match_pattern(play.pattern, every)
    return out


# --- variables --------------------------------------------------------------------------------


def _show(name: str, value: Any, with_values: bool) -> str | None:
    """A variable's value as shown in a report; None where it is never shown. Secret names
    (a role's *_psk, *_password …) hide the whole value; inside any other value, secret
    keys (a nested RESTIC_PASSWORD) and secret-looking text are masked."""
    if not with_values or _SECRET_NAME.search(name) or is_secret_name(name) or value == SECRET:
        return None
    value = mask_mapping(value)
    text = value if isinstance(value, str) else repr(value) if value is not None else "null"
    text = " ".join(str(text).split())
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def var_changes(old: Any, new: Any, with_values: bool) -> list[VarChange]:
    """Top-level variables added, removed or changed between two YAML documents."""
    a = old if isinstance(old, dict) else {}
    b = new if isinstance(new, dict) else {}
    out = []
    for name in sorted(set(a) | set(b)):
        if name not in a:
            out.append(VarChange(name, "add", None, _show(name, b[name], with_values)))
        elif name not in b:
            out.append(VarChange(name, "delete", _show(name, a[name], with_values), None))
        elif a[name] != b[name]:
            out.append(
                VarChange(
                    name,
                    "update",
                    _show(name, a[name], with_values),
                    _show(name, b[name], with_values),
                )
            )
    return out


def _region_run_vars(region: Region | None, slug: str) -> dict[str, Any] | None:
    """The region-derived run vars of a municipality (stack outputs left out on purpose)."""
    if region is None or slug not in region.slugs:
        return None
    stand_in = outputs.StackOutputs(
        {
            "network": {"resolver_inbound_ip": ""},
            "identity": {"ssh_user_ca_public_key": ""},
            "backup": {
                "blob_endpoint": "",
                "container_names": dict.fromkeys(region.slugs, ""),
                "container_sas_urls": dict.fromkeys(region.slugs, ""),
            },
        },
        "diff",
    )
    public = outputs.run_vars(region, slug, stand_in).public
    return {k: v for k, v in public.items() if k != "ilag_outputs"}


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


def _every_host(views: Iterable[View]) -> set[str]:
    return {h for v in views for h in v.all_hosts()}


def _group_hosts(views: Iterable[View], group: str, slug: str | None = None) -> set[str]:
    out: set[str] = set()
    for view in views:
        for s, per in view.hosts.items():
            if slug is None or s == slug:
                out |= {h for h, groups in per.items() if group in groups}
    return out


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


def diff_ansible(base: View, head: View, changed: list[str]) -> AnsibleDiff:
    """What the changed paths do to the on-site side, per municipality and host."""
    result = AnsibleDiff(changed_files=list(changed))
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
                variables = var_changes(
                    load_yaml(base.root / path), load_yaml(head.root / path), with_values=True
                )
                add(
                    AnsibleChange(
                        path, "role-variables", f"{role} {parts[2]}", munis, hosts_l, variables
                    )
                )
            else:
                note = "" if hosts_l else "no play of any playbook uses this role"
                add(AnsibleChange(path, "role", f"role {role}", munis, hosts_l, note=note))
        elif parts[0] == "playbooks" and path.endswith((".yml", ".yaml")):
            book = Path(path).name
            munis, hosts_l = impacts.hosts(playbook_hosts(views, book), f"playbook {book}")
            add(AnsibleChange(path, "playbook", f"playbook {book}", munis, hosts_l))
        elif parts[0] == inventory.INVENTORY_DIR and len(parts) >= 2:
            _inventory_change(path, parts[1:], base, head, impacts, add)
        elif path == "region.yaml":
            result.region_changed = True
            _region_change(base, head, impacts, add)
        elif path in ("ansible.cfg", "requirements.yml", "collections/requirements.yml"):
            reason = f"{path} (every run)"
            munis, hosts_l = impacts.hosts(_every_host(views), reason)
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
    path: str, rest: list[str], base: View, head: View, impacts: _Impacts, add: Any
) -> None:
    views = (base, head)
    first = rest[0]
    hosts: set[str]
    if first == "region.yml":
        munis, every = impacts.hosts(_every_host(views), "inventories/region.yml")
        add(AnsibleChange(path, "inventory", "region-wide inventory", munis, every))
        return
    if first in ("group_vars", "host_vars") and len(rest) >= 2:
        name = _vars_name("/".join(rest[1:]))
        variables = var_changes(
            load_yaml(base.root / path), load_yaml(head.root / path), with_values=False
        )
        if first == "group_vars":
            hosts = _every_host(views) if name == "all" else _group_hosts(views, name)
            subject = f"region-wide group_vars for group {name}"
        else:
            hosts, subject = {name}, f"region-wide host_vars for {name}"
        munis, hosts_l = impacts.hosts(hosts, subject)
        add(AnsibleChange(path, "inventory-variables", subject, munis, hosts_l, variables))
        return
    slug = first
    status = impacts.get(slug).status
    label = impacts.name(slug)
    if len(rest) >= 3 and rest[1] in ("group_vars", "host_vars"):
        name = _vars_name("/".join(rest[2:]))
        variables = var_changes(
            load_yaml(base.root / path), load_yaml(head.root / path), with_values=False
        )
        if rest[1] == "group_vars":
            hosts = _group_hosts(views, name, slug)
            subject = f"{label}: group_vars for group {name}"
        else:
            hosts, subject = {name}, f"{label}: host_vars for {name}"
        chosen = impacts.slug(slug, subject, hosts)
        add(AnsibleChange(path, "inventory-variables", subject, [slug], chosen, variables))
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
        old = _region_run_vars(base.region, slug)
        new = _region_run_vars(head.region, slug)
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
