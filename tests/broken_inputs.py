"""A generator of broken input for every file validate reads, built by class of problem.

Each class spoils one thing in a shipped file at a randomly chosen place with a randomly
chosen instance of the class (any control character, any non-ASCII digit, any name Ansible
reads as a pattern), so a new round finds what the examples in the issue did not name:

- names: a trailing or leading newline or space, a non-ASCII digit or letter, a control or
  format character, rich markup, in every field that has a format, and in display names;
- meaning: public or host-less access prefixes, twin display names, huge retention counts,
  addresses that cannot serve their role;
- inventories: hosts named like a pattern or a group, addresses that are a network's own,
  connection variables where no address is checked, hosts in the region-wide inventory;
- variable files (group_vars/, host_vars/): connection variables, bad variable names, a top
  level that is not a mapping, tags, aliases, recursion, broken syntax, a host that is not;
- any YAML file: a collection that contains itself through an anchor.

`broken=True` cases must be refused; the rest (damage that may still leave a valid file)
must be refused or valid, never a traceback.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import random
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ilag_infra.model import formats, inventory_vars, yamlsource
from ilag_infra.model.retention import MAX_KEEP

REPO = Path(__file__).resolve().parents[1]
SLUGS = ("hadsel", "bo", "oksnes", "sortland", "andoy")


@dataclass(frozen=True)
class Case:
    label: str  # the class of problem, for a failure message
    file: str  # relative to the repo root
    text: str | None  # the file's new content; None for a data-level region.yaml case
    broken: bool
    data: Any = None  # region.yaml as data, for data-level cases


def plain(path: Path) -> Any:
    return plain_text(path.read_text(encoding="utf-8"))


def plain_text(text: str) -> Any:
    data, _ = yamlsource.loads(text, "plain")
    return json.loads(json.dumps(data))  # the loader's own scalar types → plain ones


def dump(data: Any) -> str:
    """Block YAML, every odd character escaped; recursive data gets an anchor and an alias.
    LibYAML's emitter: the pure-Python one would take most of the run."""
    return "---\n" + yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False)


@cache
def _chars(categories: frozenset[str], ascii_too: bool = False) -> tuple[str, ...]:
    """Every character of these Unicode categories in the first planes people type in."""
    found = [chr(c) for c in range(0x3100) if unicodedata.category(chr(c)) in categories]
    found += [c for c in "\u2028\u2029\ufeff\u202e\u2066" if unicodedata.category(c) in categories]
    return tuple(c for c in dict.fromkeys(found) if ascii_too or not c.isascii() or c < " ")


def foreign_digit(rng: random.Random) -> str:
    return rng.choice(_chars(frozenset({"Nd"})))


def control(rng: random.Random) -> str:
    return rng.choice(_chars(frozenset({"Cc", "Cf", "Zl", "Zp"})))


def foreign_letter(rng: random.Random) -> str:
    return rng.choice(_chars(frozenset({"Ll", "Lu"})))


MARKUP = ("[bold]", "[/x]", "[/]", "[link=http://127.0.0.1]", "[red on white]")
SPACES = ("\n", "\r\n", "\r", " ", "\t", "\x0b", "\x0c", "\x85", "\u2028", "\u00a0")


def _insert(rng: random.Random, value: str, piece: str) -> str:
    at = rng.randint(0, len(value))
    return value[:at] + piece + value[at:]


def _foreign_digit_in(rng: random.Random, value: str) -> str:
    digits = [i for i, c in enumerate(value) if c.isdigit()]
    if not digits:
        return _insert(rng, value, foreign_digit(rng))
    at = rng.choice(digits)
    return value[:at] + foreign_digit(rng) + value[at + 1 :]


# Each spoiler: (label, function, does it break a free-text display name too).
SPOILERS: list[tuple[str, Callable[[random.Random, str], str], bool]] = [
    ("trailing space or newline", lambda r, v: v + r.choice(SPACES), False),
    ("trailing newline", lambda r, v: v + "\n", True),
    ("leading space or newline", lambda r, v: r.choice(SPACES) + v, False),
    ("unicode digit", _foreign_digit_in, False),
    ("control character", lambda r, v: _insert(r, v, control(r)), True),
    ("markup", lambda r, v: _insert(r, v, r.choice(MARKUP)), False),
    ("non-ASCII letter", lambda r, v: _insert(r, v, foreign_letter(r)), False),
]


def spoil(rng: random.Random, value: str) -> tuple[str, str, bool]:
    """(label, spoiled value, whether a display name is broken by it too)."""
    label, make, breaks_text = rng.choice(SPOILERS)
    spoiled = make(rng, value)
    while spoiled == value:  # a space inserted into spaces, say
        spoiled = make(rng, value)
    return label, spoiled, breaks_text


# --- region.yaml --------------------------------------------------------------------------


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


FORMATTED = {"slug", "kommunenummer", "technician_group_object_id", "vpn_endpoint", "dns_domain"}
DISPLAY = {"display_name"}


def _kind(path: tuple[Any, ...]) -> str | None:
    """'format' for a field with a strict format, 'display' for free text, else None."""
    last = path[-1] if path else None
    if last in FORMATTED or (len(path) >= 2 and path[-2] == "ntp_servers"):
        return "format"
    if last == "name":
        # A municipality's name is free text; region, site and network names are slugs.
        return "display" if path[0] == "municipalities" and len(path) == 3 else "format"
    return "display" if last in DISPLAY else None


def region_name_cases(rng: random.Random, region: Any, count: int) -> Iterator[Case]:
    fields = [(p, v) for p, v in _paths(region) if isinstance(v, str) and _kind(p)]
    for n in range(count):
        path, value = rng.choice(fields)
        label, spoiled, breaks_text = spoil(rng, value)
        data = copy.deepcopy(region)
        _set(data, path, spoiled)
        broken = _kind(path) == "format" or breaks_text
        yield _region_case(f"region.yaml {'.'.join(map(str, path))}: {label}", data, broken, n)


def _region_case(label: str, data: Any, broken: bool, n: int) -> Case:
    # Every eighth goes through the file and the whole of validate; the rest through the model.
    if n % 8 == 0:
        return Case(label, "region.yaml", dump(data), broken)
    return Case(label, "region.yaml", None, broken, data)


def _public_network(rng: random.Random, prefixlen: int) -> str:
    while True:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        net = ipaddress.IPv4Network((address, prefixlen), strict=False)
        if net.is_global and not net.is_multicast:
            return str(net)


NO_HOSTS = ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4")


def _address_in(rng: random.Random, prefix: str) -> str:
    net = ipaddress.IPv4Network(prefix)
    return str(net.network_address + rng.randrange(net.num_addresses))


def region_meaning_cases(rng: random.Random, region: Any, count: int) -> Iterator[Case]:
    networks = [
        (i, j, k)
        for i, m in enumerate(region["municipalities"])
        for j, s in enumerate(m["sites"])
        for k, _ in enumerate(s["networks"])
    ]
    region_nets = [n["prefix"] for _, n in _paths(region) if isinstance(n, dict) and "prefix" in n]
    for n in range(count):
        data = copy.deepcopy(region)
        kind = rng.randrange(6)
        if kind == 0:
            i, j, k = rng.choice(networks)
            net = data["municipalities"][i]["sites"][j]["networks"][k]
            net["prefix"] = _public_network(rng, rng.randint(1, 23))
            net["management"] = rng.random() < 0.5
            if rng.random() < 0.5:
                net["public_reason"] = "stated, but the network is too wide"
            label = "public site network wider than /24"
        elif kind == 1:
            i, j, k = rng.choice(networks)
            net = data["municipalities"][i]["sites"][j]["networks"][k]
            net["prefix"] = _public_network(rng, rng.randint(24, 30))
            net["management"] = rng.random() < 0.5
            label = "public site network without a reason"
        elif kind == 2:
            i, j, k = rng.choice(networks)
            base = ipaddress.IPv4Network(rng.choice(NO_HOSTS))
            sub = rng.randint(base.prefixlen, 30)
            net = data["municipalities"][i]["sites"][j]["networks"][k]
            net["prefix"] = _address_in(rng, str(base)) + f"/{sub}"
            net["prefix"] = str(ipaddress.IPv4Network(net["prefix"], strict=False))
            label = "site network without ordinary hosts"
        elif kind == 3:
            a, b = rng.sample(range(len(SLUGS)), 2)
            name = data["municipalities"][a]["name"]
            twin = rng.choice([name, name.upper(), name.lower(), f" {name}", f"{name}  "])
            data["municipalities"][b]["name"] = twin
            label = "twin display names"
        elif kind == 4:
            field = rng.choice(list(MAX_KEEP))
            value = rng.randint(MAX_KEEP[field] + 1, 10 ** rng.randint(5, 40))
            owner = rng.choice([data["region"], *data["municipalities"]])
            owner.setdefault("backup_retention", {})[field] = value
            label = f"retention {field} beyond its bound"
        else:
            prefix = rng.choice([*NO_HOSTS, "255.255.255.255/32"])
            if rng.random() < 0.4:
                net = ipaddress.IPv4Network(rng.choice(region_nets))
                address = rng.choice([net.network_address, net.broadcast_address])
            else:
                address = ipaddress.IPv4Address(_address_in(rng, prefix))
            servers = data["region"]["ntp_servers"]
            servers[rng.randrange(len(servers))] = str(address)
            label = "NTP server address that cannot serve"
        yield _region_case(f"region.yaml: {label}", data, True, n)


# --- hosts.yml ----------------------------------------------------------------------------


def _hosts_of(data: Any) -> Iterator[tuple[dict[str, Any], str]]:
    for _, node in _paths(data):
        if isinstance(node, dict) and isinstance(node.get("hosts"), dict):
            for name in node["hosts"]:
                yield node["hosts"], name


def _groups_of(data: Any) -> Iterator[tuple[dict[str, Any], str]]:
    for _, node in _paths(data):
        if isinstance(node, dict) and isinstance(node.get("children"), dict):
            for name in node["children"]:
                yield node["children"], name


def hosts_cases(
    rng: random.Random, hosts: dict[str, Any], region: Any, count: int
) -> Iterator[Case]:
    group_names = sorted({g for data in hosts.values() for _, g in _groups_of(data)})
    pattern_names = sorted(formats.RESERVED_HOST_NAMES) + list(SLUGS)
    pattern_names += [g for g in group_names if formats.matches(formats.HOST, g)]
    for _ in range(count):
        slug = rng.choice(SLUGS)
        data = copy.deepcopy(hosts[slug])
        muni = next(m for m in region["municipalities"] if m["slug"] == slug)
        servers = muni["sites"][0]["networks"][0]["prefix"]
        kind = rng.randrange(6)
        if kind == 0:
            name = "".join(
                c.upper() if rng.random() < 0.3 else c for c in rng.choice(pattern_names)
            )
            table, _ = rng.choice(list(_hosts_of(data)))
            table[name] = {"ansible_host": _address_in(rng, servers)}
            label = f"host named like a pattern or group ({name})"
        elif kind == 1:
            table, name = rng.choice(list(_hosts_of(data)))
            label, spoiled, _ = spoil(rng, name)
            table[spoiled] = table.pop(name)
            label = f"host name: {label}"
        elif kind == 2:
            table, name = rng.choice([(t, n) for t, n in _hosts_of(data) if t[n]])
            net = ipaddress.IPv4Network(servers)
            address = rng.choice(
                [
                    net.network_address,
                    net.broadcast_address,
                    ipaddress.IPv4Address(_address_in(rng, rng.choice(NO_HOSTS))),
                    ipaddress.IPv4Address(_public_network(rng, 32).split("/")[0]),
                ]
            )
            table[name]["ansible_host"] = str(address)
            label = "host address that cannot be a server of its networks"
        elif kind == 3:
            children, group = rng.choice(list(_groups_of(data)))
            node = children[group] if isinstance(children[group], dict) else {}
            children[group] = node
            var = rng.choice(sorted(inventory_vars.CONNECTION_VARS))
            node.setdefault("vars", {})[var] = "203.0.113.9"
            label = f"{var} in a group's vars"
        elif kind == 4:
            children, group = rng.choice(list(_groups_of(data)))
            new = rng.choice(
                [*sorted(formats.RESERVED_HOST_NAMES - {"ungrouped"}), "9lives", "a b"]
            )
            children[new] = children.pop(group)
            label = f"group renamed {new!r}"
        else:
            yield Case(
                "hosts.yml: recursion",
                f"inventories/{slug}/hosts.yml",
                recursive(rng, data),
                True,
            )
            continue
        yield Case(f"hosts.yml: {label}", f"inventories/{slug}/hosts.yml", dump(data), True)


def recursive(rng: random.Random, data: Any) -> str:
    """The data with one collection containing itself, as YAML (an anchor and an alias)."""
    data = copy.deepcopy(data)
    collections = [n for _, n in _paths(data) if isinstance(n, dict | list)]
    outer = rng.choice(collections)
    inner = rng.choice([n for _, n in _paths(outer) if isinstance(n, dict | list)])
    if isinstance(inner, dict):
        inner["loop"] = outer
    else:
        inner.append(outer)
    return dump(data)


# --- inventories/region.yml ---------------------------------------------------------------


def region_inventory_cases(rng: random.Random, text: str, count: int) -> Iterator[Case]:
    file = "inventories/region.yml"
    for _ in range(count):
        kind = rng.randrange(4)
        data: Any = {"all": {"hosts": {}}}
        if kind == 0:
            name = f"x{rng.randrange(10**6)}"
            address = rng.choice([_public_network(rng, 32)[:-3], f"10.{rng.randrange(256)}.1.5"])
            where = rng.choice(["hosts", "group"])
            if where == "hosts":
                data["all"]["hosts"] = {name: {"ansible_host": address}}
            else:
                data["all"] = {"children": {"extra": {"hosts": {name: {"ansible_host": address}}}}}
            yield Case(f"region.yml: host {name} at {address}", file, dump(data), True)
        elif kind == 1:
            yield Case("region.yml: recursion", file, recursive(rng, plain_text(text)), True)
        elif kind == 2:
            wrong = rng.choice(["text", 7, ["a", 1], [{"a": 1}], True])
            data["all"]["hosts"] = wrong
            yield Case(f"region.yml: hosts as {type(wrong).__name__}", file, dump(data), True)
        else:
            yield Case("region.yml: damaged text", file, damage(rng, text), False)


# --- group_vars/ and host_vars/ -----------------------------------------------------------

VARS_FILES = (
    "inventories/group_vars/all.yml",
    "inventories/group_vars/file_servers.yml",
    "inventories/sortland/group_vars/database_servers.yml",
    "inventories/sortland/host_vars/sortland-db01.yml",
)
NEW_VARS_FILES = (
    "inventories/group_vars/backup_clients/extra.yml",
    "inventories/host_vars/bo-fil01.yaml",
    "inventories/andoy/group_vars/andoy.json",
    "inventories/andoy/host_vars/andoy-fil01",
)
TAGS = ("!!python/object:os.system ls", "!!float abc", "!!binary ???", "!!timestamp x", "!foo 1")


def bad_variable_name(rng: random.Random) -> str:
    base = rng.choice(["network__x", "backup_agent__paths", "a"])
    return rng.choice(
        [
            f"{rng.randrange(10)}{base}",
            base[:1] + "-" + base[1:],
            base + " x",
            _insert(rng, base, foreign_letter(rng)),
            _insert(rng, base, foreign_digit(rng)),
            base + "\n",
            _insert(rng, base, control(rng)),
            _insert(rng, base, rng.choice(MARKUP)),
        ]
    )


def vars_cases(rng: random.Random, count: int) -> Iterator[Case]:
    texts = {f: (REPO / f).read_text(encoding="utf-8") for f in VARS_FILES}
    for _ in range(count):
        file = rng.choice(VARS_FILES + NEW_VARS_FILES)
        text = texts.get(file, "---\nbackup_agent__group_paths:\n  - /srv\n")
        data = plain(REPO / file) if file in texts else {"backup_agent__group_paths": ["/srv"]}
        kind = rng.randrange(8)
        if kind == 0:
            var = rng.choice(sorted(inventory_vars.CONNECTION_VARS))
            data[var] = rng.choice(["203.0.113.9", "local", "-o ProxyCommand=nc 203.0.113.9 22"])
            yield Case(f"{file}: sets {var}", file, dump(data), True)
        elif kind == 1:
            data[bad_variable_name(rng)] = 1
            yield Case(f"{file}: bad variable name", file, dump(data), True)
        elif kind == 2:
            top = rng.choice([["a", "b"], "text", 7, 1.5, True])
            yield Case(f"{file}: top level {type(top).__name__}", file, dump(top), True)
        elif kind == 3:
            yield Case(f"{file}: tag", file, text + f"extra: {rng.choice(TAGS)}\n", True)
        elif kind == 4:
            bomb = "\n".join(
                ['q0: &q0 ["a","a","a","a","a","a","a","a","a"]']
                + [f"q{i}: &q{i} [{','.join([f'*q{i - 1}'] * 9)}]" for i in range(1, 9)]
            )
            deep = rng.randint(33, 300)
            extra = rng.choice([bomb, "deep: " + "[" * deep + "]" * deep])
            yield Case(f"{file}: limits", file, text + extra + "\n", True)
        elif kind == 5:
            yield Case(f"{file}: recursion", file, recursive(rng, data), True)
        elif kind == 6:
            broken = rng.choice(["key: [\n", "a: b: c\n", "- x\ny: 1\n", "k: 'open\n", "\tk: 1\n"])
            yield Case(f"{file}: syntax", file, text + broken, True)
        else:
            stray = rng.choice(["inventories/host_vars", "inventories/bo/host_vars"])
            # The region's host_vars/ covers every municipality's hosts; bo's only bo's own.
            others = ["sortland-db01", "andoy-fil01"] if stray.startswith("inventories/bo") else []
            name = rng.choice([f"ghost{rng.randrange(1000)}", *others])
            stray_file = f"{stray}/{name}.yml"
            yield Case(f"{stray_file}: host_vars for no host here", stray_file, text, True)


def damage(rng: random.Random, text: str) -> str:
    """Text-level damage that may or may not leave valid YAML."""
    lines = text.splitlines()
    at = rng.randrange(len(lines))
    kind = rng.randrange(5)
    if kind == 0:
        return text[: rng.randrange(len(text))]
    if kind == 1:
        lines[at] = "  " + lines[at]
    elif kind == 2:
        lines[at] = lines[at].replace(":", "", 1)
    elif kind == 3:
        lines.insert(at, lines[at])
    else:
        lines[at] += rng.choice([control(rng), foreign_digit(rng), rng.choice(MARKUP), "\ufeff"])
    return "\n".join(lines) + "\n"


def every_case(seed: int) -> list[Case]:
    """The whole generated round for one seed."""
    rng = random.Random(seed)
    region = plain(REPO / "region.yaml")
    hosts = {s: plain(REPO / "inventories" / s / "hosts.yml") for s in SLUGS}
    region_inventory = (REPO / "inventories" / "region.yml").read_text(encoding="utf-8")
    return [
        *region_name_cases(rng, region, 300),
        *region_meaning_cases(rng, region, 200),
        *(
            Case("region.yaml: recursion", "region.yaml", recursive(rng, region), True)
            for _ in range(20)
        ),
        *hosts_cases(rng, hosts, region, 220),
        *region_inventory_cases(rng, region_inventory, 100),
        *vars_cases(rng, 260),
    ]
