"""Address checks for the network role, done with the standard library only."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError


def _network(prefix: object, where: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(str(prefix).strip(), strict=False)
    except ValueError as exc:
        raise AnsibleFilterError(
            f"{where}: {prefix!r} is not an IP address or prefix ({exc}); "
            "write it like 10.20.1.0/26 or fd00::/64"
        ) from exc


def ilag_prefixes(prefixes: list[object], family: int, where: str = "network") -> list[str]:
    """Validated prefixes of one IP family (4 or 6), normalised, order kept, duplicates dropped."""
    if isinstance(prefixes, str) or not isinstance(prefixes, list):
        raise AnsibleFilterError(f"{where}: expected a list of prefixes, got {prefixes!r}")
    result: list[str] = []
    for prefix in prefixes:
        net = _network(prefix, where)
        if net.version == int(family) and str(net) not in result:
            result.append(str(net))
    return result


def ilag_address_in(address: object, prefixes: list[object]) -> bool:
    """True when address lies inside one of prefixes."""
    try:
        addr = ipaddress.ip_address(str(address).strip())
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(
        addr.version == net.version and addr in net
        for net in (_network(p, "network") for p in prefixes)
    )


class FilterModule:
    """Filters used by the network role."""

    def filters(self) -> dict[str, object]:
        return {
            "ilag_prefixes": ilag_prefixes,
            "ilag_address_in": ilag_address_in,
        }
