"""The region's address plan and topology, rendered for people: a table and a Mermaid diagram."""

from __future__ import annotations

import re

from rich.table import Table

from ilag_infra.model import cost
from ilag_infra.model.region import Region
from ilag_infra.model.shown import cell, controls_escaped, shown


def table(region: Region) -> Table:
    """One row per network: municipality, site, VPN endpoint, prefix; plus the cost shares."""
    r = region.region
    # Every name is from region.yaml: shown as text (a name like "[/x]" is no markup).
    t = Table(
        title=f"{shown(r.display_name)}: hub {r.hub.address_space} in {r.location} "
        f"(pair {r.location_pair}); shared costs {shown(cost.describe(region))}"
    )
    for col in (
        "Municipality",
        "Nr",
        "Population",
        "Cost share",
        "Site",
        "VPN endpoint",
        "Network",
        "Prefix",
    ):
        t.add_column(
            col, justify="right" if col in ("Population", "Cost share") else "left", no_wrap=True
        )
    split = cost.shares(region)
    for m in region.municipalities:
        rows: list[tuple[str, str, str, str]] = []
        for site in m.sites:
            for k, n in enumerate(site.networks):
                rows.append(
                    (
                        site.name if k == 0 else "",
                        site.vpn_endpoint if k == 0 else "",
                        n.name + (" (mgmt)" if n.management else ""),
                        str(n.prefix),
                    )
                )
        if m.spoke_prefix is not None:
            rows.append(("azure", "-", "spoke", str(m.spoke_prefix)))
        for i, row in enumerate(rows):
            first = i == 0
            t.add_row(
                cell(f"{m.name} ({m.slug})" if first else ""),
                cell(m.kommunenummer if first else ""),
                f"{m.population:,}".replace(",", " ") if first else "",
                f"{split[m.slug] * 100:.1f} %" if first else "",
                *(cell(v) for v in row),
                end_section=i == len(rows) - 1,
            )
    return t


def _id(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]", "_", p) for p in parts)


def _label(text: str) -> str:
    # Mermaid labels are quoted; a double quote inside would end them early.
    return '"' + controls_escaped(text).replace('"', "'") + '"'


def mermaid(region: Region) -> str:
    """A flowchart that GitHub renders: hub, gateway, spokes, and each site's VPN link."""
    r = region.region
    hub = r.hub
    lines = ["flowchart LR"]
    lines.append(f"  subgraph azure[{_label(f'Azure {r.location}: hub {hub.address_space}')}]")
    lines.append("    direction TB")
    lines.append(f"    vgw[{_label(f'VPN gateway<br/>GatewaySubnet {hub.subnets.gateway}')}]")
    lines.append(f"    dns[{_label(f'DNS resolver inbound<br/>{hub.subnets.dns_inbound}')}]")
    lines.append(f"    shared[{_label(f'shared services<br/>{hub.subnets.shared_services}')}]")
    for m in region.municipalities:
        if m.spoke_prefix is not None:
            lines.append(
                f"    {_id('spoke', m.slug)}[{_label(f'spoke {m.slug}<br/>{m.spoke_prefix}')}]"
            )
    lines.append("  end")
    for m in region.municipalities:
        if m.spoke_prefix is not None:
            lines.append(f"  shared --- {_id('spoke', m.slug)}")
    for m in region.municipalities:
        lines.append(f"  subgraph {_id('m', m.slug)}[{_label(f'{m.name} {m.kommunenummer}')}]")
        for site in m.sites:
            nets = "<br/>".join(f"{n.name} {n.prefix}" for n in site.networks)
            lines.append(
                f"    {_id('site', m.slug, site.name)}"
                f"[{_label(f'{site.name}<br/>{site.vpn_endpoint}<br/>{nets}')}]"
            )
        lines.append("  end")
        for site in m.sites:
            lines.append(f"  vgw <-->|IPsec IKEv2| {_id('site', m.slug, site.name)}")
    return "\n".join(lines) + "\n"
