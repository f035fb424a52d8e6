"""Values from a user's file are printed as text: never as rich markup, never as raw control
characters, in every renderer (tables, live lines, plain text, HTML).

The renderers are called directly with names that validation may or may not accept: what a
renderer prints must not depend on what an earlier check happened to refuse.
"""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from ilag_infra.azure.plan import PlanResource, PlanResult
from ilag_infra.cli import backup_views, plan_view, views
from ilag_infra.cli.console import make_console
from ilag_infra.costs import render
from ilag_infra.costs.split import CostSplit, Line, Listed, Period
from ilag_infra.model import topology
from ilag_infra.model.region import LoadedRegion, Region, load
from ilag_infra.model.shown import controls_escaped, shown
from ilag_infra.onsite.backup import BackupStatus
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.runner import HostResult, MunicipalityResult, Progress
from ilag_infra.report import page
from ilag_infra.report.records import Records

REPO = Path(__file__).resolve().parent.parent
CLOSING = "Bø [/x]"  # rich: "closing tag '[/x]' doesn't match any open tag"
BOLD = "Bø [bold]x[/]"  # rich: shown bold, the tags swallowed
ESC = "Evil\x1b[31mred\x1b[0m"  # a terminal: colours everything after it
OTHERS = "c1\x9bx del\x7f bell\x07 nul\x00 rtl\u202e"
NAMES = [CLOSING, BOLD, ESC, OTHERS]


def printed(*renderables: object) -> str:
    """What a person sees: the project's console, its colours off, captured."""
    console = make_console()
    console.no_color = True
    with console.capture() as cap:
        for r in renderables:
            console.print(r)
    return cap.get()


def assert_literal(out: str, *values: str) -> None:
    assert "\x1b" not in out and "\x9b" not in out and "\x7f" not in out and "\x00" not in out
    for value in values:
        assert controls_escaped(value) in out, (value, out)


def odd_region() -> Region:
    """The shipped region with every free-text name replaced (no validation on the way)."""
    model = load(REPO / "region.yaml").model
    munis = [
        m.model_copy(
            update={
                "name": name,
                "sites": [s.model_copy(update={"name": f"site{name}"}) for s in m.sites],
            }
        )
        for m, name in zip(model.municipalities, [*NAMES, "Andøy"], strict=True)
    ]
    info = model.region.model_copy(update={"display_name": f"ILAG {BOLD} {ESC}"})
    return model.model_copy(update={"municipalities": munis, "region": info})


def test_region_table_prints_names_as_written() -> None:
    out = printed(topology.table(odd_region()))
    assert_literal(out, *NAMES, f"site{CLOSING}", f"ILAG {BOLD}")
    assert "\\x1b[31mred" in out


def test_mermaid_has_no_control_characters() -> None:
    out = topology.mermaid(odd_region())
    assert_literal(out, BOLD)
    assert "\\x1b[31m" in out


def test_live_lines_and_recap() -> None:
    console = make_console()
    console.no_color = True
    printer = views.LivePrinter(console, verbose=True)
    with console.capture() as cap:
        printer(Progress(CLOSING, "changed", ESC, BOLD, f"line one\n{OTHERS}"))
        printer(Progress("bo", "diff", CLOSING, "task", f"- a\n+ {BOLD}"))
    out = cap.get()
    assert_literal(out, CLOSING, BOLD, ESC, OTHERS)
    assert "line one\n" in out  # a multi-line detail keeps its lines
    result = MunicipalityResult(CLOSING, "failed", 2)
    result.hosts[ESC] = HostResult(ESC, failed=1)
    assert_literal(printed(views.recap([result])), CLOSING, ESC)


def test_plan_lines() -> None:
    res = PlanResource("urn:a", "azure-native:x:Y", BOLD, True, None, [], {"fqdn": CLOSING})
    result = PlanResult(CLOSING, [res], outputs={"o": OTHERS}, policies_checked=[CLOSING])
    console = make_console()
    console.no_color = True
    with console.capture() as cap:
        for line in plan_view.render(result):
            console.print(line, highlight=False, soft_wrap=True)
    out = cap.get()
    assert_literal(out, CLOSING, BOLD, f'fqdn="{CLOSING}"')
    assert "c1\\x9bx" in out


def _split() -> CostSplit:
    lines = [
        Line(s, n, "1871", Fraction(1, 2), Decimal("1.00"), Decimal("2.00"), Decimal("3.00"),
             {BOLD: Decimal("3.00")})
        for s, n in (("bo", CLOSING), ("x", ESC))
    ]  # fmt: skip
    listed = Listed(OTHERS, "rg", Decimal("1.5"), [f"export.csv:2 {CLOSING}"])
    return CostSplit(
        Period(2026, 10), "NOK", "billed", "equal", None, f"equal {BOLD}",
        Decimal("6"), Decimal("6.00"), Decimal("2"), Decimal("4"), Decimal("1.5"),
        lines, [BOLD], untagged=[listed],
    )  # fmt: skip


def test_cost_table_notes_and_markdown() -> None:
    s = _split()
    out = printed(render.table(s), *(shown(n) for n in render.notes(s)))
    assert_literal(out, CLOSING, ESC, BOLD, OTHERS)
    assert_literal(render.markdown(s), ESC, OTHERS)
    # JSON keeps the data exact and stays valid.
    text = render.json_text(s)
    assert ESC in [line["name"] for line in json.loads(text)["lines"]]
    assert "\x1b" not in text


def test_backup_table() -> None:
    host = SshHost(ESC, CLOSING, "10.0.0.1", 22, "ilag", None)
    row = BackupStatus(host, OTHERS, None, None, BOLD)
    out = printed(backup_views.table([row], f"Backups {shown(CLOSING)}"))
    assert_literal(out, ESC, CLOSING, BOLD, OTHERS)


def test_report_page_escapes_controls_and_markup(tmp_path: Path) -> None:
    region = odd_region()
    region = region.model_copy(
        update={"region": region.region.model_copy(update={"display_name": f"<b>{ESC}"})}
    )
    data = page.build(LoadedRegion(region, REPO / "region.yaml", {}), Records(tmp_path, [], []),
                      None, None)  # fmt: skip
    html = page.render(data)
    assert "\x1b" not in html and "\x9b" not in html and "\x00" not in html
    assert "&lt;b&gt;Evil\\x1b[31mred" in html and "<b>Evil" not in html


def test_console_never_writes_a_raw_control_character() -> None:
    # The net under the escaping: even a value printed with no escaping at all.
    out = printed(f"plain {ESC} {OTHERS}")
    assert_literal(out, ESC)
    assert "c1\\x9bx del\\x7f" in out and "rtl\\u202e" in out  # rich itself drops BEL


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30))
def test_any_text_prints_as_itself(value: str) -> None:
    console = Console(highlight=False, emoji=False, no_color=True, width=1000)
    with console.capture() as cap:
        console.print(f"[green]<[/]{shown(value)}[red]>[/]", soft_wrap=True)
    assert cap.get() == f"<{controls_escaped(value)}>\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a\x1bb", "a\\x1bb"), ("t\tn\n", "t\\tn\\n"), ("\x85", "\\x85"), ("\u202e", "\\u202e")],
)
def test_controls_are_written_as_escapes(value: str, expected: str) -> None:
    assert controls_escaped(value) == expected
