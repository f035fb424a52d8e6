"""The demo drills the smallest municipality by population and shows its RTO and RPO."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from ilag_infra import demo
from ilag_infra.cli.demo import summary
from ilag_infra.model import region

REPO = Path(__file__).resolve().parents[1]


def test_smallest_municipality_follows_region_yaml() -> None:
    model = region.load(REPO / "region.yaml").model
    by_size = sorted(model.municipalities, key=lambda m: m.population)
    assert demo.smallest_municipality(model) == by_size[0].slug
    # Grow the smallest one: the next one is drilled instead.
    grown = [
        m.model_copy(update={"population": 10**6}) if m.slug == by_size[0].slug else m
        for m in model.municipalities
    ]
    assert (
        demo.smallest_municipality(model.model_copy(update={"municipalities": grown}))
        == by_size[1].slug
    )


def _render(rows: list[demo.MunicipalityRow]) -> str:
    console = Console(width=250, record=True, color_system=None)
    console.print(summary(demo.DemoReport(rows)))
    return console.export_text()


def _row(slug: str) -> demo.MunicipalityRow:
    return demo.MunicipalityRow(
        slug, slug.title(), 2, 2, 0, "12:00 UTC abc", 2, 2, restore_verified=2
    )


def test_summary_shows_the_drilled_rto_and_rpo_and_a_failed_drill_fails_the_row() -> None:
    drilled, other = _row("bo"), _row("andoy")
    drilled.drill_ok, drilled.drill_rto_seconds, drilled.drill_rpo_seconds = True, 151.0, 12.4
    text = _render([drilled, other])
    assert "Drill RTO / RPO" in text
    bo_line = next(line for line in text.splitlines() if "(bo)" in line)
    assert "2.5 min / 12 s" in bo_line and "ok" in bo_line
    andoy_line = next(line for line in text.splitlines() if "(andoy)" in line)
    assert "min" not in andoy_line
    drilled.drill_ok = False
    assert not drilled.ok and other.ok
    assert "FAILED" in _render([drilled])
