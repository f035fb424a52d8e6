"""The region model: region.yaml parsed, typed and validated. Everything downstream reads this."""

from __future__ import annotations

import difflib
import ipaddress
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ilag_infra.model import formats, placeholders, yamlsource
from ilag_infra.model.errors import Problem, RegionError
from ilag_infra.model.retention import Retention
from ilag_infra.model.yamlsource import KeyPath, format_path, line_of

DEFAULT_REGION_FILE = "region.yaml"
ALLOWED_LOCATIONS = ("norwayeast", "norwaywest")

_TRANSLIT = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "ae", "Ø": "o", "Å": "a"})

# Addresses that can never be a site's public VPN endpoint. Documentation ranges are
# deliberately allowed: the shipped region uses 198.51.100.0/24 as placeholders.
_NOT_PUBLIC = [
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
]


def _prefix(value: Any) -> ipaddress.IPv4Network:
    if not isinstance(value, str):
        raise ValueError(f"expected a prefix like 10.0.0.0/24 as text, got {type(value).__name__}")
    if "/" not in value:
        raise ValueError(f"{value!r} has no prefix length; write it as e.g. {value}/24")
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ipaddress.NetmaskValueError:
        raise ValueError(f"{value!r} has an invalid prefix length (0-32)") from None
    except ValueError as exc:
        if "host bits set" in str(exc):
            net = ipaddress.IPv4Network(value, strict=False)
            raise ValueError(f"{value!r} has host bits set; did you mean {net}?") from None
        raise ValueError(f"{value!r} is not an IPv4 prefix") from None
    if str(net) != value:
        # ipaddress reads "/08" as /8; a leading zero is a typo more often than not.
        raise ValueError(f"{value!r} is not written the usual way; write {str(net)!r}")
    return net


# Private space an on-site or Azure network may use without a stated reason: RFC 1918 and the
# shared address space of RFC 6598 (carrier-grade NAT, used inside some municipal WANs).
_PRIVATE = [
    ipaddress.IPv4Network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
]
# Ranges that hold no ordinary hosts: "this network", loopback, link-local, multicast and
# the reserved block with the limited broadcast address.
_NO_HOSTS = [
    ipaddress.IPv4Network(n)
    for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4")
]
# A public network that grants access may be no wider than this, and must say why it is public.
MAX_PUBLIC_PREFIXLEN = 24


def is_private(net: ipaddress.IPv4Network) -> bool:
    return any(net.subnet_of(p) for p in _PRIVATE)


def no_hosts_in(
    address: ipaddress.IPv4Address | ipaddress.IPv4Network,
) -> ipaddress.IPv4Network | None:
    """The range of _NO_HOSTS that holds this address or overlaps this network, if any."""
    for net in _NO_HOSTS:
        if (
            (address in net)
            if isinstance(address, ipaddress.IPv4Address)
            else address.overlaps(net)
        ):
            return net
    return None


def _ntp_server(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f"expected a host name or IPv4 address as text, got {type(value).__name__}"
        )
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        pass
    else:
        if str(address) != value:
            raise ValueError(f"{value!r} is not written the usual way; write {str(address)!r}")
        unusable = no_hosts_in(address)
        if unusable is not None or address == ipaddress.IPv4Address("255.255.255.255"):
            raise ValueError(
                f"{value!r} cannot be an NTP server (inside {unusable or '255.255.255.255/32'}: "
                "no server answers there for every host); write a DNS name like "
                "0.no.pool.ntp.org or a server's unicast IPv4 address"
            )
        return value
    if not formats.matches(formats.FQDN, value):
        raise ValueError(f"{value!r} is neither an IPv4 address nor a DNS name with a domain")
    return value.lower()


def _slug(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
    if not formats.matches(formats.SLUG, value):
        hint = value.lower().translate(_TRANSLIT)
        hint = re.sub(r"[^a-z0-9-]+", "-", hint, flags=re.ASCII).strip("-")
        suggestion = f"; try {hint!r}" if formats.matches(formats.SLUG, hint) else ""
        raise ValueError(
            f"{value!r} is not a slug: lowercase ASCII letters, digits and '-', "
            f"starting with a letter{suggestion}"
        )
    return value


def _kommunenummer(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f'kommunenummer must be quoted text like "1871", got {type(value).__name__} '
            "(YAML would drop a leading zero)"
        )
    if not formats.matches(formats.KOMMUNENUMMER, value):
        raise ValueError(f"{value!r} is not a 4-digit kommunenummer (ASCII digits 0-9)")
    return value


def _endpoint(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a public IPv4 address or FQDN, got {type(value).__name__}")
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        if formats.matches(formats.FQDN, value):
            return value.lower()
        raise ValueError(f"{value!r} is neither an IPv4 address nor a DNS name") from None
    if addr.version != 4:
        raise ValueError(f"{value!r}: only IPv4 site endpoints are supported")
    for net in _NOT_PUBLIC:
        if addr in net:
            raise ValueError(
                f"{value!r} is not a public address (inside {net}); the VPN gateway in Azure "
                "can only reach the site's public address"
            )
    return value


def _dns_domain(value: Any) -> str:
    if not formats.matches(formats.DNS_DOMAIN, value):
        raise ValueError(
            f"{value!r} is not a DNS zone; write lowercase letters, digits, '-' and dots, "
            "e.g. ilag.internal"
        )
    return str(value)


# Names are printed in reports and shared in cost rows; these bounds keep them a name.
MAX_DISPLAY_NAME = 100


def _display_name(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected the name as text, got {type(value).__name__}")
    if not value.strip():
        raise ValueError("the name is empty; write the name as people read it, e.g. Andøy")
    if len(value) > MAX_DISPLAY_NAME:
        raise ValueError(
            f"the name is {len(value)} characters long; write at most {MAX_DISPLAY_NAME}"
        )
    hidden = formats.invisible_characters(value)
    if hidden:
        raise ValueError(
            f"the name contains control or invisible characters ({', '.join(hidden)}); "
            "write the name as plain text"
        )
    return value


def _uuid(value: Any) -> str:
    if not formats.matches(formats.UUID, value):
        raise ValueError(f"{value!r} is not a directory object id (a UUID)")
    return str(value).lower()


Prefix = Annotated[ipaddress.IPv4Network, BeforeValidator(_prefix)]
Slug = Annotated[str, BeforeValidator(_slug)]
Kommunenummer = Annotated[str, BeforeValidator(_kommunenummer)]
Endpoint = Annotated[str, BeforeValidator(_endpoint)]
ObjectId = Annotated[str, BeforeValidator(_uuid)]
NtpServer = Annotated[str, BeforeValidator(_ntp_server)]
DnsDomain = Annotated[str, BeforeValidator(_dns_domain)]
DisplayName = Annotated[str, BeforeValidator(_display_name)]
# No municipality of Norway has two million people: a larger number is a typo.
MAX_POPULATION = 2_000_000
# management_networks may reach SSH on every on-site server: none may be wider than this.
MAX_MANAGEMENT_PREFIXLEN = 24


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Network(_Model):
    name: Slug
    prefix: Prefix
    management: bool = Field(default=False, strict=True)
    # Why a public prefix is an on-site network (e.g. an old public allocation still in use);
    # required for one, refused for a private one.
    public_reason: DisplayName | None = None


class Site(_Model):
    name: Slug
    # How people write the site's name (Risøyhamn); the slug stays the technical name.
    display_name: DisplayName | None = None
    vpn_endpoint: Endpoint
    networks: list[Network] = Field(min_length=1)

    @property
    def label(self) -> str:
        return self.display_name or self.name


class Municipality(_Model):
    slug: Slug
    name: DisplayName
    kommunenummer: Kommunenummer
    population: int = Field(gt=0, le=MAX_POPULATION, strict=True)
    spoke_prefix: Prefix | None = None
    technician_group_object_id: ObjectId
    sites: list[Site] = Field(min_length=1)
    # Backup keep rules; fields left out come from region.backup_retention.
    backup_retention: Retention | None = None

    @property
    def networks(self) -> list[ipaddress.IPv4Network]:
        """Every on-site network of this municipality, all sites."""
        return [n.prefix for s in self.sites for n in s.networks]

    @property
    def management_networks(self) -> list[ipaddress.IPv4Network]:
        return [n.prefix for s in self.sites for n in s.networks if n.management]


class HubSubnets(_Model):
    gateway: Prefix
    shared_services: Prefix
    private_endpoints: Prefix
    dns_inbound: Prefix
    dns_outbound: Prefix


class Hub(_Model):
    address_space: Prefix
    subnets: HubSubnets


class RegionInfo(_Model):
    name: Slug
    display_name: DisplayName
    location: Literal["norwayeast", "norwaywest"]
    location_pair: Literal["norwayeast", "norwaywest"]
    dns_domain: DnsDomain
    ntp_servers: list[NtpServer] = Field(min_length=1)
    hub: Hub
    management_networks: list[Prefix] = Field(default_factory=list)
    backup_retention: Retention | None = None  # defaults for every municipality


class CostKey(_Model):
    method: Literal["equal", "population", "weighted"]
    equal_share: float | None = Field(default=None, ge=0, le=1, strict=True)


class Region(_Model):
    region: RegionInfo
    cost_key: CostKey
    municipalities: list[Municipality] = Field(min_length=1)

    def municipality(self, slug: str) -> Municipality:
        """The municipality with this slug; KeyError names the known ones."""
        for m in self.municipalities:
            if m.slug == slug:
                return m
        raise KeyError(f"unknown municipality {slug!r}; known: {', '.join(self.slugs)}")

    @property
    def slugs(self) -> list[str]:
        return [m.slug for m in self.municipalities]


@dataclass(frozen=True)
class LoadedRegion:
    """The model plus where it came from, so later checks can point at lines."""

    model: Region
    path: Path
    lines: dict[KeyPath, int]

    def problem(self, key: KeyPath, message: str, fix: str) -> Problem:
        return Problem(str(self.path), format_path(key), message, fix, line_of(self.lines, key))


def _model_for(path: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model found at a key path, so an unknown key can get a suggestion."""
    model: Any = Region
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    for arg in (tp, *typing.get_args(tp)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        for inner in typing.get_args(arg):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def _pydantic_problems(
    exc: ValidationError, filename: str, lines: dict[KeyPath, int]
) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = format_path(loc)
        line = line_of(lines, loc)
        msg = str(err["msg"]).removeprefix("Value error, ")
        fix = _FIXES.get(str(err["type"]), "") or _fix_for(loc, msg)
        if err["type"] == "extra_forbidden":
            parent = _model_for(loc[:-1])
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
        elif err["type"] in ("model_type", "dict_type"):
            fix = "write a mapping (key: value) here"
        elif err["type"] == "list_type":
            fix = "write a list (- item) here"
        problems.append(Problem(filename, key, msg, fix, line))
    return problems


# What to write, per pydantic error type; the rest get a fix from the field (_fix_for).
_FIXES = {
    "int_type": "write a whole number without quotes, e.g. 4553",
    "int_parsing": "write a whole number without quotes, e.g. 4553",
    "string_type": 'write text; quote it if YAML would read it otherwise, e.g. "1871"',
    "float_type": "write a decimal number, e.g. 0.30",
    "float_parsing": "write a decimal number, e.g. 0.30",
    "bool_type": "write true or false",
    "greater_than": "write a number above the limit named here",
    "greater_than_equal": "write a number at or above the limit named here",
    "less_than_equal": "write a number at or below the limit named here",
    "too_short": "add at least one entry",
    "literal_error": "use one of the values named here",
    "string_pattern_mismatch": "use lowercase letters, digits, '-' and dots, e.g. ilag.internal",
    "string_too_short": "write a non-empty value",
}


_ADVICE = re.compile(r"\b(did you mean|try|write|use)\b")


def _fix_for(loc: tuple[Any, ...], msg: str) -> str:
    """A fix from the message the validator wrote ("did you mean", "write it as …")."""
    found = _ADVICE.search(msg)
    if found:
        return msg[found.start() :].rstrip(".")
    field = str(next((p for p in reversed(loc) if isinstance(p, str)), "the value"))
    examples = {
        "prefix": "write an IPv4 network like 10.71.10.0/24",
        "spoke_prefix": "write an IPv4 network like 10.20.16.0/22",
        "vpn_endpoint": "write the site's public IPv4 address or DNS name",
        "technician_group_object_id": "copy the group's Object ID from Entra ID",
        "kommunenummer": 'write the 4-digit number in quotes, e.g. "1871"',
        "slug": "write lowercase ASCII, e.g. andoy",
        "name": "write a lowercase name of letters, digits and '-'",
        "ntp_servers": "write a DNS name like 0.no.pool.ntp.org or an IPv4 address",
        "management_networks": "write an IPv4 network like 10.20.1.0/26",
    }
    return examples.get(field, f"see the shipped region.yaml for the form of {field!r}")


def _named_networks(region: Region) -> Iterator[tuple[KeyPath, str, ipaddress.IPv4Network]]:
    yield ("region", "hub", "address_space"), "the hub", region.region.hub.address_space
    for i, m in enumerate(region.municipalities):
        if m.spoke_prefix is not None:
            yield ("municipalities", i, "spoke_prefix"), f"{m.slug} (spoke)", m.spoke_prefix
        for j, site in enumerate(m.sites):
            for k, net in enumerate(site.networks):
                key: KeyPath = ("municipalities", i, "sites", j, "networks", k, "prefix")
                yield key, f"{m.slug} (site {site.name}, {net.name})", net.prefix


def _duplicates(values: list[Any]) -> dict[Any, list[int]]:
    seen: dict[Any, list[int]] = {}
    for index, value in enumerate(values):
        seen.setdefault(value, []).append(index)
    return {v: idx for v, idx in seen.items() if len(idx) > 1}


def check(loaded: LoadedRegion) -> list[Problem]:
    """Cross-field rules that a single field cannot express."""
    r = loaded.model
    problems: list[Problem] = []
    add = problems.append

    for field, label in (("slug", "slug"), ("kommunenummer", "kommunenummer")):
        values = [getattr(m, field) for m in r.municipalities]
        for value, idx in _duplicates(values).items():
            for i in idx[1:]:
                add(
                    loaded.problem(
                        ("municipalities", i, field),
                        f"{label} {value!r} is used by municipalities[{idx[0]}] too",
                        f"give each municipality its own {label}",
                    )
                )

    # Costs and reports name a municipality by its display name: two alike would be one
    # to a reader (case and spacing are ignored, as a reader ignores them).
    shown = [" ".join(m.name.split()).casefold() for m in r.municipalities]
    for _, idx in _duplicates(shown).items():
        for i in idx[1:]:
            add(
                loaded.problem(
                    ("municipalities", i, "name"),
                    f"name {r.municipalities[i].name!r} is also the name of "
                    f"municipalities[{idx[0]}] ({r.municipalities[idx[0]].slug})",
                    "give each municipality its own name, as people know it",
                )
            )

    for i, m in enumerate(r.municipalities):
        names = [s.name for s in m.sites]
        for name, idx in _duplicates(names).items():
            for j in idx[1:]:
                add(
                    loaded.problem(
                        ("municipalities", i, "sites", j, "name"),
                        f"site name {name!r} appears twice in {m.slug}",
                        "rename one of the sites",
                    )
                )

    if r.region.location == r.region.location_pair:
        add(
            loaded.problem(
                ("region", "location_pair"),
                "location_pair equals location",
                "use the paired region (norwayeast ↔ norwaywest)",
            )
        )

    hub = r.region.hub
    subnets = [(name, getattr(hub.subnets, name)) for name in HubSubnets.model_fields]
    for name, net in subnets:
        if not net.subnet_of(hub.address_space):
            add(
                loaded.problem(
                    ("region", "hub", "subnets", name),
                    f"{net} is outside the hub address space {hub.address_space}",
                    "choose a subnet inside region.hub.address_space",
                )
            )
    for a in range(len(subnets)):
        for b in range(a + 1, len(subnets)):
            (na, pa), (nb, pb) = subnets[a], subnets[b]
            if pa.overlaps(pb):
                add(
                    loaded.problem(
                        ("region", "hub", "subnets", nb),
                        f"hub subnet {nb} {pb} overlaps hub subnet {na} {pa}",
                        "give every hub subnet its own range",
                    )
                )
    if hub.subnets.gateway.prefixlen > 27:
        add(
            loaded.problem(
                ("region", "hub", "subnets", "gateway"),
                f"GatewaySubnet {hub.subnets.gateway} is smaller than /27",
                "use a /27 or larger: a zone-redundant VPN gateway needs the room",
            )
        )

    named = list(_named_networks(r))
    for a in range(len(named)):
        for b in range(a + 1, len(named)):
            (ka, la, pa), (kb, lb, pb) = named[a], named[b]
            if pa.overlaps(pb):
                add(
                    loaded.problem(
                        kb,
                        f"{lb} {pb} overlaps {la} {pa} ({format_path(ka)})",
                        "every network in the region needs its own address range; change one",
                    )
                )

    problems.extend(_endpoint_problems(loaded))
    problems.extend(_access_problems(loaded))
    problems.extend(_management_problems(loaded))
    problems.extend(_ntp_problems(loaded))

    if r.cost_key.method == "weighted" and r.cost_key.equal_share is None:
        add(
            loaded.problem(
                ("cost_key", "equal_share"),
                "method 'weighted' needs equal_share",
                "add equal_share: the fraction split evenly, e.g. 0.30",
            )
        )
    if r.cost_key.method != "weighted" and r.cost_key.equal_share is not None:
        add(
            loaded.problem(
                ("cost_key", "equal_share"),
                f"equal_share only applies to method 'weighted', not {r.cost_key.method!r}",
                "remove equal_share or set method: weighted",
            )
        )
    return problems


def _endpoint_problems(loaded: LoadedRegion) -> list[Problem]:
    """Two sites cannot share a public VPN endpoint: the gateway would pair one of them with
    the other's tunnel."""
    seen: dict[str, str] = {}
    problems = []
    for i, m in enumerate(loaded.model.municipalities):
        for j, site in enumerate(m.sites):
            label = f"{m.slug}/{site.name}"
            other = seen.setdefault(site.vpn_endpoint, label)
            if other != label:
                problems.append(
                    loaded.problem(
                        ("municipalities", i, "sites", j, "vpn_endpoint"),
                        f"VPN endpoint {site.vpn_endpoint} is also the endpoint of {other}",
                        "give each site its own public address (ask the site's ISP)",
                    )
                )
    return problems


def _access_problems(loaded: LoadedRegion) -> list[Problem]:
    """Every network in region.yaml is let in somewhere (site networks over the VPN and to
    SMB, management networks to SSH, the hub and spokes to each other), so each must hold
    hosts and be private space, or be a public /MAX_PUBLIC_PREFIXLEN or narrower with a
    stated reason: 128.0.0.0/1 marked management would let half the Internet reach SSH."""
    r = loaded.model
    problems = []
    reasons: dict[KeyPath, str | None] = {}
    for i, m in enumerate(r.municipalities):
        for j, site in enumerate(m.sites):
            for k, network in enumerate(site.networks):
                where: KeyPath = ("municipalities", i, "sites", j, "networks", k, "prefix")
                reasons[where] = network.public_reason
    for key, label, net in _named_networks(r):
        site_network = key in reasons
        unusable = no_hosts_in(net)
        if unusable is None and is_private(net):
            if reasons.get(key):
                problems.append(
                    loaded.problem(
                        (*key[:-1], "public_reason"),
                        f"{label} {net} is private space; public_reason is only for a public "
                        "prefix",
                        "remove public_reason",
                    )
                )
        elif site_network and net.prefixlen < MAX_PUBLIC_PREFIXLEN:
            problems.append(
                loaded.problem(
                    key,
                    f"{label} {net} is public and wider than /{MAX_PUBLIC_PREFIXLEN}: every "
                    "address in it would be let in to the region's servers",
                    "use private space, or list the public network itself, "
                    f"/{MAX_PUBLIC_PREFIXLEN} or narrower, with public_reason",
                )
            )
        elif unusable is not None:
            problems.append(
                loaded.problem(
                    key,
                    f"{label} {net} overlaps {unusable}, which holds no ordinary hosts",
                    "use private space (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)",
                )
            )
        elif not site_network:
            problems.append(
                loaded.problem(
                    key,
                    f"{label} {net} is not private space; Azure address space here must be",
                    "use private space (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)",
                )
            )
        elif not reasons[key]:
            problems.append(
                loaded.problem(
                    key,
                    f"{label} {net} is public: addresses outside the municipality would be let in",
                    "use private space, or add public_reason: saying why this public network "
                    "is the site's own",
                )
            )
    return problems


def _ntp_problems(loaded: LoadedRegion) -> list[Problem]:
    """An NTP address inside one of the region's networks must be a host of it, not the
    network's own or broadcast address."""
    problems = []
    for i, server in enumerate(loaded.model.region.ntp_servers):
        try:
            address = ipaddress.IPv4Address(server)
        except ValueError:
            continue
        hub = loaded.model.region.hub
        subnets = [
            ((), f"hub subnet {name}", getattr(hub.subnets, name))
            for name in HubSubnets.model_fields
        ]
        for _, label, net in [*_named_networks(loaded.model), *subnets]:
            if net.prefixlen <= 30 and address in (net.network_address, net.broadcast_address):
                problems.append(
                    loaded.problem(
                        ("region", "ntp_servers", i),
                        f"{server} is the network or broadcast address of {label} {net}, "
                        "not a server",
                        "write the NTP server's own address",
                    )
                )
    return problems


def _management_problems(loaded: LoadedRegion) -> list[Problem]:
    """Each management network (SSH on every on-site server is allowed from it) is inside the
    hub, or is a municipality's own network marked `management: true`, and is no wider than
    /MAX_MANAGEMENT_PREFIXLEN."""
    r = loaded.model
    marked = [
        (m.slug, s.name, n.prefix)
        for m in r.municipalities
        for s in m.sites
        for n in s.networks
        if n.management
    ]
    problems = []
    for i, net in enumerate(r.region.management_networks):
        key: KeyPath = ("region", "management_networks", i)
        if net.prefixlen < MAX_MANAGEMENT_PREFIXLEN:
            problems.append(
                loaded.problem(
                    key,
                    f"{net} is wider than /{MAX_MANAGEMENT_PREFIXLEN}: every address in it could "
                    "reach SSH on every on-site server",
                    f"list the jump hosts' own network, /{MAX_MANAGEMENT_PREFIXLEN} or narrower",
                )
            )
            continue
        if net.subnet_of(r.region.hub.address_space):
            continue
        if not any(net.subnet_of(p) for _, _, p in marked):
            problems.append(
                loaded.problem(
                    key,
                    f"{net} is neither inside the hub ({r.region.hub.address_space}) nor a "
                    "municipality network marked management: true",
                    "use the hub's jump-host subnet, or mark the municipality's on-site jump "
                    "network with management: true under its site",
                )
            )
    return problems


def placeholder_problems(loaded: LoadedRegion) -> list[Problem]:
    """Placeholders left in region.yaml (model/placeholders.py decides): fine for the lab,
    refused for production."""
    problems = []
    for i, m in enumerate(loaded.model.municipalities):
        id_reason = placeholders.reason(m.technician_group_object_id)
        if id_reason:
            problems.append(
                loaded.problem(
                    ("municipalities", i, "technician_group_object_id"),
                    id_reason,
                    f"copy the Object ID of {m.name}'s technician group from Entra ID",
                )
            )
        for j, site in enumerate(m.sites):
            key: KeyPath = ("municipalities", i, "sites", j, "vpn_endpoint")
            endpoint = site.vpn_endpoint
            # The shared check, plus any other address that is not globally routable.
            try:
                address = ipaddress.IPv4Address(endpoint)
            except ValueError:
                placeholder = bool(placeholders.RESERVED_NAME.search(endpoint))
            else:
                placeholder = not address.is_global
            if placeholder:
                problems.append(
                    loaded.problem(
                        key,
                        f"{endpoint} is a documentation placeholder, not {m.slug}/{site.name}'s "
                        "public address",
                        "write the site firewall's public IPv4 address or DNS name",
                    )
                )
    return problems


def parse(data: Any, lines: dict[KeyPath, int], path: Path) -> LoadedRegion:
    """Validate already-loaded YAML data; raise RegionError with every problem found."""
    filename = str(path)
    if not isinstance(data, dict):
        raise RegionError(
            [
                Problem(
                    filename,
                    "(top level)",
                    "expected a mapping with region, cost_key and municipalities",
                    "see the shipped region.yaml",
                )
            ]
        )
    try:
        model = Region.model_validate(data)
    except ValidationError as exc:
        raise RegionError(_pydantic_problems(exc, filename, lines)) from None
    loaded = LoadedRegion(model, path, lines)
    problems = check(loaded)
    if problems:
        raise RegionError(problems)
    return loaded


def load(path: Path | str = DEFAULT_REGION_FILE) -> LoadedRegion:
    """Load and validate region.yaml; raise RegionError naming file, line, key and fix."""
    path = Path(path)
    try:
        data, lines = yamlsource.load(path)
    except yamlsource.YamlSourceError as exc:
        raise RegionError([exc.problem]) from None
    return parse(data, lines, path)
