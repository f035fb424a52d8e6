"""The one inventory model: where inventories live, their groups, hosts and inline variables,
checked in the shape Ansible accepts, and host patterns resolved by Ansible itself.

Validation, host resolution (onsite.hostlist), the diff's impact analysis and the lab all
read inventories through this module.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ilag_infra.model import formats, inventory_vars, jump_host, yamlsource
from ilag_infra.model.errors import InventoryError, Problem
from ilag_infra.model.region import LoadedRegion
from ilag_infra.model.yamlsource import KeyPath, format_path, line_of

if TYPE_CHECKING:
    from ansible.inventory.manager import InventoryManager

INVENTORY_DIR = "inventories"
HOSTS_FILE = "hosts.yml"
REGION_INVENTORY = "region.yml"
# Directory entries under inventories/ that are not municipalities.
SHARED_ENTRIES = {"group_vars", "host_vars", REGION_INVENTORY}
GROUP_KEYS = ("hosts", "children", "vars")
_SHAPE = "see inventories/andoy/hosts.yml for the shape"


@dataclass
class Host:
    name: str
    municipality: str
    address: str | None
    groups: set[str] = field(default_factory=set)  # every group it is in, ancestors included
    key: KeyPath = ()
    line: int | None = None
    vars: dict[str, Any] = field(default_factory=dict)  # written inline in hosts.yml


@dataclass
class Inventory:
    municipality: str
    path: Path
    hosts: dict[str, Host]  # in order of first appearance
    group_vars: dict[str, dict[str, Any]] = field(default_factory=dict)  # inline vars:
    groups: dict[str, KeyPath] = field(default_factory=dict)  # every group and where it is

    @property
    def names(self) -> list[str]:
        return list(self.hosts)

    def in_group(self, group: str) -> set[str]:
        return {h.name for h in self.hosts.values() if group in h.groups}


def inventory_path(root: Path, slug: str) -> Path:
    return root / INVENTORY_DIR / slug / HOSTS_FILE


def sources(root: Path, slug: str) -> list[Path]:
    """What a run of one municipality reads, in precedence order (later wins)."""
    return [root / INVENTORY_DIR / REGION_INVENTORY, inventory_path(root, slug)]


def inventory_slugs(root: Path) -> list[str]:
    """Municipality directories under inventories/, sorted."""
    base = root / INVENTORY_DIR
    if not base.is_dir():
        return []
    return sorted(e.name for e in base.iterdir() if e.is_dir() and e.name not in SHARED_ENTRIES)


class _Reader:
    """Walks Ansible's YAML inventory shape (group → hosts / children / vars), noting every
    problem with its key path and line instead of stopping at the first."""

    def __init__(self, inv: Inventory, lines: dict[KeyPath, int]) -> None:
        self.inv, self.lines = inv, lines
        self.problems: list[Problem] = []

    def bad(self, key: KeyPath, message: str, fix: str) -> None:
        self.problems.append(
            Problem(str(self.inv.path), format_path(key), message, fix, line_of(self.lines, key))
        )

    def group(self, node: Any, chain: tuple[str, ...], key: KeyPath) -> None:
        self.inv.groups.setdefault(chain[-1], key)
        if node is None:
            return
        if not isinstance(node, dict):
            self.bad(
                key,
                f"group {chain[-1]} is {_kind(node)}; a group is a mapping",
                "write the group as a mapping with hosts:, children: and vars: under it",
            )
            return
        for section, value in node.items():
            skey = (*key, str(section))
            if section == "hosts":
                self.hosts(value, chain, skey)
            elif section == "children":
                self.children(value, chain, skey)
            elif section == "vars":
                if value is not None and not isinstance(value, dict):
                    self.bad(
                        skey,
                        f"vars of group {chain[-1]} is {_kind(value)}; Ansible needs a mapping",
                        "write one `name: value` per line under vars:",
                    )
                elif value:
                    self.variables(value, f"vars of group {chain[-1]}", skey)
                    self.connection(value, f"group {chain[-1]}", skey)
                    self.inv.group_vars.setdefault(chain[-1], {}).update(value)
            else:
                self.bad(
                    skey,
                    f"unknown group key {section!r} in group {chain[-1]}",
                    "use hosts:, children: or vars: (a child group goes under children:)",
                )

    def hosts(self, value: Any, chain: tuple[str, ...], key: KeyPath) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            example = "  andoy-fil01:\n  andoy-util01:"
            if isinstance(value, list):
                message = (
                    f"hosts of group {chain[-1]} is a list; Ansible's YAML inventory needs a "
                    "mapping of host names"
                )
                fix = f"drop the '- ' and end each host name with ':' ({example.strip()})"
            else:
                message = f"hosts of group {chain[-1]} is {_kind(value)}; it must map host names"
                fix = "write one `host-name:` per line under hosts:, with its variables below it"
            self.bad(key, message, fix)
            return
        for name, hvars in value.items():
            hkey = (*key, str(name))
            if not formats.matches(formats.HOST, name):
                self.bad(
                    hkey,
                    f"host name {name!r} is not a host name"
                    + (f" (YAML read it as {_kind(name)})" if not isinstance(name, str) else ""),
                    "name the host with letters, digits, '-' and '.', e.g. andoy-fil01",
                )
                continue
            if hvars is not None and not isinstance(hvars, dict):
                self.bad(
                    hkey,
                    f"variables of host {name} are {_kind(hvars)}; Ansible needs a mapping",
                    "write `ansible_host: <address>` (and other variables) under the host",
                )
                continue
            self.host(name, hvars or {}, chain, hkey)

    def variables(self, values: dict[str, Any], owner: str, key: KeyPath) -> None:
        """Ansible's rule for variable names; a host name here is a host indented too deep."""
        for name in values:
            if not formats.matches(formats.VARIABLE, name):
                self.bad(
                    (*key, str(name)),
                    f"{name!r} under {owner} is not a variable name (letters, digits and _, "
                    "not starting with a digit)",
                    "if it is a host, indent it like the hosts beside it; if a variable, rename it",
                )

    def connection(self, values: dict[str, Any], owner: str, key: KeyPath) -> None:
        """Where to connect is set per host, beside the address validate checks."""
        for name in sorted(set(values) & inventory_vars.CONNECTION_VARS):
            self.bad(
                (*key, name),
                f"{name} is set for {owner}: it would override the address checked for each "
                "of its hosts",
                "set ansible_host under each host in hosts.yml, and nothing that redirects it",
            )

    def host(self, name: str, hvars: dict[str, Any], chain: tuple[str, ...], hkey: KeyPath) -> None:
        self.variables(hvars, f"host {name}", hkey)
        try:
            jump_host.from_vars(hvars)  # the commands would refuse it later; say so now
        except jump_host.JumpSpecError as exc:
            self.bad((*hkey, exc.var), str(exc), jump_host.FIX)
        host = self.inv.hosts.get(name)
        if host is None:
            host = Host(name, self.inv.municipality, None, set(), hkey, line_of(self.lines, hkey))
            self.inv.hosts[name] = host
        host.groups.update(chain)
        host.vars.update(hvars)
        if "ansible_host" not in hvars:
            return
        address = hvars["ansible_host"]
        akey = (*hkey, "ansible_host")
        if not isinstance(address, str):
            self.bad(
                akey,
                f"ansible_host of {name} is {_kind(address)}",
                "write the server's IPv4 address, e.g. 10.71.10.10",
            )
            return
        if host.address is not None and host.address != address:
            self.bad(
                hkey,
                f"host {name} has two addresses: {host.address} and {address}",
                "set ansible_host once, under one of its groups",
            )
        host.address = address
        host.key, host.line = akey, line_of(self.lines, akey)

    def children(self, value: Any, chain: tuple[str, ...], key: KeyPath) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            self.bad(
                key,
                f"children of group {chain[-1]} is {_kind(value)}; it must map group names",
                "write one `group_name:` per line under children:, each with its hosts:",
            )
            return
        for child, node in value.items():
            ckey = (*key, str(child))
            if not formats.matches(formats.GROUP, child) or child in formats.RESERVED_HOST_NAMES:
                self.bad(
                    ckey,
                    f"group name {child!r} is not a group name"
                    + (" of its own: Ansible gives it a meaning" if isinstance(child, str) else ""),
                    "name groups with letters, digits, '_' and '-', e.g. file_servers",
                )
                continue
            if child in chain:
                self.bad(ckey, f"group {child} contains itself", "remove the loop")
                continue
            self.group(node, (*chain, child), ckey)


def _kind(value: Any) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return f"a boolean ({value})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text ({value[:40]!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def read(path: Path, slug: str) -> tuple[Inventory, list[Problem]]:
    """One hosts.yml as the model; structural problems are returned, not raised."""
    inv, _, problems = _read(path, slug)
    return inv, problems


def load(root: Path, slug: str) -> tuple[Inventory, dict[KeyPath, int], list[Problem]]:
    """Read one municipality's hosts.yml; structural problems are returned, not raised."""
    return _read(inventory_path(root, slug), slug)


def _read(path: Path, slug: str) -> tuple[Inventory, dict[KeyPath, int], list[Problem]]:
    inv = Inventory(slug, path, {})
    try:
        data, lines = yamlsource.load(path)
    except yamlsource.YamlSourceError as exc:
        return inv, {}, [exc.problem]
    if not isinstance(data, dict) or not isinstance(data.get("all"), dict):
        return (
            inv,
            lines,
            [Problem(str(path), "(top level)", "expected 'all:' with children", _SHAPE)],
        )
    reader = _Reader(inv, lines)
    for top, node in data.items():
        if top != "all":
            reader.bad(
                (str(top),),
                f"top-level group {top!r} beside all:",
                "put every group under all: → children:",
            )
            continue
        reader.group(node, ("all",), ("all",))
    # Ansible's own plugin has the last word, once the shape is known to be sound.
    return inv, lines, reader.problems or ansible_problems(path)


def ansible_problems(path: Path) -> list[Problem]:
    """What Ansible's own YAML inventory plugin says about a file our checks passed."""
    from ansible.errors import AnsibleError
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader

    plugin = inventory_loader.get("yaml")
    try:
        plugin.parse(InventoryData(), DataLoader(), str(path), cache=False)
    except AnsibleError as exc:
        message = " ".join(str(getattr(exc, "message", exc)).split())[:300]
        return [
            Problem(str(path), "(inventory)", f"Ansible refuses it: {message}", _SHAPE),
        ]
    except Exception as exc:  # none of Ansible's own failures may escape
        return [_ansible_failed(path, exc)]
    return []


def _ansible_failed(path: Path, exc: BaseException) -> Problem:
    message = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    return Problem(str(path), "(inventory)", f"Ansible cannot read it ({message})", _SHAPE)


def read_region_inventory(root: Path) -> tuple[Inventory | None, list[Problem]]:
    """inventories/region.yml: the root every run loads, so group_vars/ beside it applies to
    all municipalities. It declares no hosts: one there would be in every municipality's run,
    unchecked against any municipality's networks."""
    path = root / INVENTORY_DIR / REGION_INVENTORY
    if not path.exists():
        return None, []
    inv, problems = read(path, "region")
    for host in inv.hosts.values():
        problems.append(
            Problem(
                str(path),
                format_path(host.key),
                f"host {host.name} is declared in the region-wide inventory: every "
                "municipality's run would select it",
                "declare the host in its municipality's inventories/<slug>/hosts.yml",
                host.line,
            )
        )
    return inv, problems


def load_all(region: LoadedRegion, root: Path) -> dict[str, Inventory]:
    """Load and cross-check every municipality's inventory; raise InventoryError on problems."""
    problems: list[Problem] = []
    inventories: dict[str, Inventory] = {}
    unread: set[str] = set()
    slugs = region.model.slugs
    for slug in slugs:
        path = inventory_path(root, slug)
        if not path.exists():
            problems.append(
                Problem(
                    str(path),
                    "(file)",
                    f"municipality {slug!r} has no inventory",
                    f"create {path.relative_to(root)} with its servers",
                )
            )
            continue
        inv, errs = read(path, slug)
        problems.extend(errs)
        inventories[slug] = inv
        if errs:
            unread.add(slug)
    for name in inventory_slugs(root):
        if name not in slugs:
            problems.append(
                Problem(
                    str(root / INVENTORY_DIR / name),
                    "(directory)",
                    f"inventory for unknown municipality {name!r}",
                    f"add it to {region.path} or remove the directory; known: {', '.join(slugs)}",
                )
            )
    shared, found = read_region_inventory(root)
    problems.extend(found)
    problems.extend(_cross_check(region, inventories, shared))
    hosts = {s: None if s in unread else set(i.hosts) for s, i in inventories.items()}
    problems.extend(inventory_vars.check_all(root / INVENTORY_DIR, hosts))
    if problems:
        raise InventoryError(problems)
    return inventories


def _group_names(
    region: LoadedRegion, inventories: dict[str, Inventory], shared: Inventory | None
) -> dict[str, str]:
    """Every name a host pattern reads as a group (folded), with where it comes from."""
    names = {n: "a name Ansible reserves" for n in formats.RESERVED_HOST_NAMES}
    for slug in region.model.slugs:
        names.setdefault(slug.lower(), f"the municipality {slug}")
    for inv in [*inventories.values(), *([shared] if shared else [])]:
        for group in inv.groups:
            names.setdefault(group.lower(), f"a group in {inv.path.parent.name}")
    return names


def _cross_check(
    region: LoadedRegion, inventories: dict[str, Inventory], shared: Inventory | None = None
) -> list[Problem]:
    problems: list[Problem] = []
    seen_names: dict[str, Host] = {}
    seen_addrs: dict[str, Host] = {}
    groups = _group_names(region, inventories, shared)
    for slug, inv in inventories.items():
        muni = region.model.municipality(slug)
        for host in inv.hosts.values():

            def add(message: str, fix: str, inv: Inventory = inv, host: Host = host) -> None:
                problems.append(
                    Problem(str(inv.path), format_path(host.key), message, fix, host.line)
                )

            # DNS and SSH ignore case: ANDOY-FIL01 and andoy-fil01 are one server.
            folded = host.name.lower()
            if folded in seen_names:
                other = seen_names[folded]
                same = "" if other.name == host.name else f" as {other.name} (case is ignored)"
                add(
                    f"host name {host.name} is also used in {other.municipality}{same}",
                    "host names must be unique across the region; rename one",
                )
            seen_names.setdefault(folded, host)
            if folded in groups:
                add(
                    f"host name {host.name} is also {groups[folded]}: a run's host pattern "
                    f"{host.name!r} would select this one host instead of the group",
                    "rename the host, e.g. with the municipality's prefix and a role (andoy-fil01)",
                )
            if host.address is None:
                add(
                    f"host {host.name} has no ansible_host",
                    f"add `ansible_host: <IPv4 address>` under {host.name}",
                )
                continue
            try:
                addr = ipaddress.IPv4Address(host.address)
            except ValueError:
                add(
                    f"ansible_host {host.address!r} of {host.name} is not an IPv4 address",
                    "write the server's IPv4 address, e.g. 10.71.10.10",
                )
                continue
            if host.address in seen_addrs:
                other = seen_addrs[host.address]
                add(
                    f"address {host.address} of {host.name} is also used by {other.name} "
                    f"({other.municipality})",
                    "give every server its own address",
                )
            seen_addrs.setdefault(host.address, host)
            inside = [net for net in muni.networks if addr in net]
            if not inside:
                nets = ", ".join(str(n) for n in muni.networks)
                add(
                    f"{host.name} at {host.address} is outside {slug}'s networks ({nets})",
                    f"use an address in {slug}'s on-site networks, or add the network to "
                    f"{region.path}",
                )
            for net in inside:
                if net.prefixlen <= 30 and addr in (net.network_address, net.broadcast_address):
                    which = "network" if addr == net.network_address else "broadcast"
                    add(
                        f"{host.address} of {host.name} is the {which} address of {net}, "
                        "not a server's",
                        f"give {host.name} its own address inside {net}",
                    )
    return problems


# --- host patterns, by Ansible ---------------------------------------------------------------


def manager(paths: Sequence[Path]) -> InventoryManager:
    """Ansible's own inventory of these sources (missing ones left out)."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    present = [p for p in paths if p.is_file()]
    try:
        return InventoryManager(loader=DataLoader(), sources=[str(p) for p in present])
    except Exception as exc:  # none of Ansible's own failures may escape
        where = present[-1] if present else Path(INVENTORY_DIR)
        raise InventoryError([_ansible_failed(where, exc)]) from None


def select(inventory: InventoryManager, pattern: str) -> list[str]:
    """Host names a `hosts:` or `--limit` pattern selects: groups, names, globs, `~regex`,
    `[0:1]` slices, `&` and `!`, exactly as ansible-playbook would."""
    import ansible.constants as ansible_constants

    if "{{" in pattern:
        pattern = "all"  # decided at run time: assume every host
    # A part that matches nothing selects nothing; Ansible's warning about it on stderr
    # would only be noise in a report (the setting is read at call time).
    saved = ansible_constants.HOST_PATTERN_MISMATCH
    ansible_constants.HOST_PATTERN_MISMATCH = "ignore"
    try:
        return [h.name for h in inventory.get_hosts(pattern=pattern)]
    finally:
        ansible_constants.HOST_PATTERN_MISMATCH = saved


def select_in(root: Path, slugs: Iterable[str], pattern: str) -> set[str]:
    """Hosts a pattern selects across municipalities, each with its own sources as a run has."""
    out: set[str] = set()
    for slug in slugs:
        out |= set(select(manager(sources(root, slug)), pattern))
    return out
