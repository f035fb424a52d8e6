"""Lab address plan and the overlap check (pure: `ip -j` data is given)."""

from __future__ import annotations

import ipaddress

import pytest

from ilag_infra.lab import net
from ilag_infra.model.errors import InputError

SLUGS = ["hadsel", "bo", "oksnes", "sortland", "andoy"]


def test_default_plan_gives_each_municipality_its_numbered_24() -> None:
    plan = net.plan(net.DEFAULT_LAB_PREFIX, SLUGS, 2)
    assert [str(n.subnet) for n in plan.nets] == [f"10.250.{i}.0/24" for i in range(1, 6)]
    assert [n.bridge for n in plan.nets] == [
        "ilag1-hadsel",
        "ilag2-bo",
        "ilag3-oksnes",
        "ilag4-sortland",
        "ilag5-andoy",
    ]
    andoy = plan.net("andoy")
    assert str(andoy.gateway) == "10.250.5.1"
    assert [str(andoy.host_ip(i)) for i in range(3)] == [
        "10.250.5.11",
        "10.250.5.12",
        "10.250.5.13",
    ]
    assert str(plan.service_ip) == "10.250.255.1"
    assert all(plan.service_ip not in n.subnet for n in plan.nets)


def test_bridge_names_fit_the_kernel_limit_and_stay_unique() -> None:
    long_slugs = [f"averyverylongmunicipality{i}" for i in range(12)]
    plan = net.plan("10.240.0.0/16", long_slugs, 1)
    names = [n.bridge for n in plan.nets]
    assert all(len(n) <= 15 for n in names)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize(
    "prefix",
    [
        "198.51.100.0/24",  # documentation range: "private" to Python, not RFC 1918
        "100.64.0.0/16",  # shared address space (CGN)
        "192.0.0.0/16",  # straddles RFC 1918 and special-purpose space
        "8.8.0.0/16",  # not private
        "10.250.0.0/24",  # too small for whole /24s
        "10.250.0.1/16",  # host bits
        "banana",
    ],
)
def test_bad_prefixes_are_refused_as_input(prefix: str) -> None:
    with pytest.raises(InputError) as exc:
        net.plan(prefix, SLUGS, 2)
    assert exc.value.problems[0].key == "--lab-prefix"


def test_prefix_must_hold_every_municipality_plus_two() -> None:
    with pytest.raises(InputError, match="need 7"):
        net.plan("10.250.0.0/22", SLUGS, 2)
    assert len(net.plan("10.250.0.0/21", SLUGS, 2).nets) == 5


@pytest.mark.parametrize("count", [0, 245])
def test_host_count_out_of_range(count: int) -> None:
    with pytest.raises(InputError, match="out of range"):
        net.plan(net.DEFAULT_LAB_PREFIX, SLUGS, count)


ROUTES = [
    {"dst": "default", "gateway": "198.51.100.1", "dev": "eth0"},
    {"dst": "198.51.100.0/24", "dev": "eth0", "protocol": "kernel"},
    {"dst": "10.250.7.0/24", "dev": "wg0", "protocol": "static"},
    {"dst": "fd00::/64", "dev": "eth0"},
    {"type": "unreachable", "dst": "10.250.0.0/16", "protocol": str(net.ROUTE_PROTO)},
    {"dst": "10.250.1.0/24", "dev": "ilag1-hadsel", "protocol": "kernel"},
]
LINKS = [
    {"ifname": "eth0", "addr_info": [{"family": "inet", "local": "198.51.100.5", "prefixlen": 24}]},
    {
        "ifname": "docker0",
        "addr_info": [{"family": "inet", "local": "172.17.0.1", "prefixlen": 16}],
    },
    {
        "ifname": "ilag-svc",
        "addr_info": [{"family": "inet", "local": "10.250.255.1", "prefixlen": 32}],
    },
]


def test_overlap_names_the_route_and_ignores_default_and_ipv6() -> None:
    hits = net.overlaps(ipaddress.IPv4Network("10.250.0.0/16"), ROUTES, LINKS)
    assert hits == ["route 10.250.7.0/24 dev wg0 (table main)"]


def test_overlap_finds_addresses() -> None:
    hits = net.overlaps(ipaddress.IPv4Network("172.16.0.0/12"), ROUTES, LINKS)
    assert hits == ["address 172.17.0.1/16 on docker0"]


def test_no_overlap_for_free_prefix() -> None:
    assert net.overlaps(ipaddress.IPv4Network("10.251.0.0/16"), ROUTES, LINKS) == []
