"""Coordinates for the two drawings; the template turns them into inline SVG.

Drawn by hand rather than with a chart library: two simple figures do not earn a dependency,
the page needs no script, and every figure stays text that a screen reader and a test can read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from ilag_infra.model.region import Region

WIDTH = 640
HEIGHT = 480
_CX, _CY = WIDTH / 2, HEIGHT / 2
_R_MUNI = 122
_R_SITE = 200
_SITE_SPREAD = 22.0  # degrees between the sites of one municipality


@dataclass(frozen=True)
class Node:
    x: float
    y: float
    label: str
    state: str
    anchor: str = "middle"  # text-anchor of the label
    lx: float = 0.0  # label position
    ly: float = 0.0


@dataclass(frozen=True)
class SiteNode(Node):
    municipality: str = ""


@dataclass(frozen=True)
class RegionPicture:
    width: int
    height: int
    hub: Node
    municipalities: list[Node]
    sites: list[SiteNode]


def _anchor(dx: float) -> str:
    if dx > 8:
        return "start"
    if dx < -8:
        return "end"
    return "middle"


def region_picture(region: Region, states: dict[str, str], hub_state: str) -> RegionPicture:
    hub = Node(_CX, _CY, "", hub_state, "middle", _CX, _CY + 5)
    munis: list[Node] = []
    sites: list[SiteNode] = []
    n = len(region.municipalities)
    for i, m in enumerate(region.municipalities):
        angle = math.radians(-90 + i * 360 / n)
        x, y = _CX + _R_MUNI * math.cos(angle), _CY + _R_MUNI * math.sin(angle)
        munis.append(
            Node(
                round(x, 1),
                round(y, 1),
                m.name,
                states[m.slug],
                "middle",
                round(x, 1),
                round(y + 5, 1),
            )
        )
        k = len(m.sites)
        for j, site in enumerate(m.sites):
            a = angle + math.radians((j - (k - 1) / 2) * _SITE_SPREAD)
            sx, sy = _CX + _R_SITE * math.cos(a), _CY + _R_SITE * math.sin(a)
            dx = math.cos(a) * 15
            dy = math.sin(a) * 15
            sites.append(
                SiteNode(
                    round(sx, 1),
                    round(sy, 1),
                    site.label,
                    states[m.slug],
                    _anchor(dx),
                    round(sx + dx, 1),
                    round(sy + dy + (5 if abs(dy) < 8 else (14 if dy > 0 else -3)), 1),
                    m.slug,
                )
            )
    return RegionPicture(WIDTH, HEIGHT, hub, munis, sites)


@dataclass(frozen=True)
class Bar:
    label: str
    y: float
    direct_w: float
    shared_w: float
    value: str
    value_x: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    label_w: int
    bars: list[Bar]
    bar_h: int


def bar_chart(rows: list[tuple[str, Decimal, Decimal, str]]) -> BarChart:
    """rows: (label, direct, shared, value text). Negative parts (credits) draw as zero width."""
    label_w, area, bar_h, gap = 110, 360, 26, 12
    top = max((max(d, Decimal(0)) + max(s, Decimal(0)) for _, d, s, _ in rows), default=Decimal(0))
    scale = float(area) / float(top) if top > 0 else 0.0
    bars = []
    for i, (label, direct, shared, value) in enumerate(rows):
        dw = max(float(direct), 0.0) * scale
        sw = max(float(shared), 0.0) * scale
        bars.append(
            Bar(label, 8 + i * (bar_h + gap), round(dw, 1), round(sw, 1), value,
                round(label_w + dw + sw + 6, 1))
        )  # fmt: skip
    return BarChart(WIDTH, 16 + len(rows) * (bar_h + gap), label_w, bars, bar_h)
