"""VPN gateway SKUs as Azure documents them: which generation each exists in, and its tunnels.

Source: https://learn.microsoft.com/azure/vpn-gateway/about-gateway-skus (table "gateway SKUs by
tunnel, connection, and throughput"). A SKU/generation pair outside this table is refused by
Azure at `pulumi up`; mocks accept it, so the settings reader and the rules catalogue check it.
"""

from __future__ import annotations

from dataclasses import dataclass

DOC = "https://learn.microsoft.com/azure/vpn-gateway/about-gateway-skus"
GEN1 = "Generation1"
GEN2 = "Generation2"


@dataclass(frozen=True)
class VpnSku:
    name: str
    generations: tuple[str, ...]
    s2s_tunnels: int
    zone_redundant: bool

    @property
    def generation(self) -> str:
        """The newest generation the SKU exists in: what the stack declares."""
        return self.generations[-1]


SKUS: dict[str, VpnSku] = {
    s.name: s
    for s in (
        VpnSku("Basic", (GEN1,), 10, False),
        VpnSku("VpnGw1", (GEN1,), 30, False),
        VpnSku("VpnGw2", (GEN1, GEN2), 30, False),
        VpnSku("VpnGw3", (GEN1, GEN2), 30, False),
        VpnSku("VpnGw4", (GEN2,), 100, False),
        VpnSku("VpnGw5", (GEN2,), 100, False),
        VpnSku("VpnGw1AZ", (GEN1,), 30, True),
        VpnSku("VpnGw2AZ", (GEN1, GEN2), 30, True),
        VpnSku("VpnGw3AZ", (GEN1, GEN2), 30, True),
        VpnSku("VpnGw4AZ", (GEN2,), 100, True),
        VpnSku("VpnGw5AZ", (GEN2,), 100, True),
    )
}
ZONE_REDUNDANT = tuple(name for name, s in SKUS.items() if s.zone_redundant)


def smallest_for(tunnels: int, zone_redundant: bool = True) -> str | None:
    """The first SKU (in table order) with room for this many site-to-site tunnels."""
    for sku in SKUS.values():
        if sku.zone_redundant == zone_redundant and sku.s2s_tunnels >= tunnels:
            return sku.name
    return None
