"""Firewall IP rules in the shape Azure Storage accepts.

Azure Storage documents (https://learn.microsoft.com/azure/storage/common/storage-network-security-limitations):
- IP network rules take IPv4 only;
- ranges with prefix /31 or /32 are refused: give single addresses instead;
- only public addresses: the RFC 1918 ranges (10/8, 172.16/12, 192.168/16) are refused.
"""

from __future__ import annotations

import ipaddress

STORAGE_DOC = (
    "https://learn.microsoft.com/azure/storage/common/storage-network-security-limitations"
)
RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


class IpRuleError(ValueError):
    """One list item that Azure Storage would refuse, with the fix in the message."""


def is_rfc1918(net: ipaddress.IPv4Network) -> bool:
    return any(net.overlaps(private) for private in RFC1918)


def storage_rule_values(item: str) -> list[str]:
    """The ipRules values for one configured address or CIDR: /32 → the bare address,
    /31 → its two addresses, a wider range unchanged. Raises IpRuleError with the fix."""
    try:
        net = ipaddress.ip_network(item.strip(), strict=True)
    except ValueError:
        raise IpRuleError(
            f"{item!r} is not an IPv4 address or CIDR (host bits must be zero)"
        ) from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise IpRuleError(f"{item!r} is IPv6; Azure Storage IP rules take IPv4 only")
    if is_rfc1918(net):
        raise IpRuleError(
            f"{item!r} is a private (RFC 1918) address; Azure Storage IP rules take public "
            "addresses only: private clients come through the private endpoint"
        )
    if net.prefixlen == 32:
        return [str(net.network_address)]
    if net.prefixlen == 31:
        return [str(net.network_address), str(net.broadcast_address)]
    return [str(net)]


def storage_value_problem(value: str) -> str | None:
    """Why Azure Storage would refuse this ipRules value as given, or None."""
    try:
        if "/" not in value:
            ipaddress.IPv4Address(value)
            net = ipaddress.IPv4Network(f"{value}/32")
        else:
            net = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return f"{value!r} is not an IPv4 address or CIDR range"
    if "/" in value and net.prefixlen >= 31:
        return f"{value!r}: prefixes /31 and /32 are refused; give single addresses bare"
    if is_rfc1918(net):
        return f"{value!r} is a private (RFC 1918) address; only public addresses are allowed"
    return None
