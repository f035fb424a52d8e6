"""A diff report as one PR comment (Markdown), as text for terminals, or as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import jinja2

from ilag_infra.diff.plan import SECRET, PropertyChange, ResourceChange, StackDiff
from ilag_infra.diff.report import DiffReport
from ilag_infra.model.shown import controls_escaped

MARKER = "<!-- ilag-diff -->"
# A preview comment per stack, each found again by its own marker.
PREVIEW_MARKER = "<!-- ilag-preview:{stack} -->"
# GitHub refuses comments above 65,536 characters; keep a margin for the workflow's own text.
COMMENT_LIMIT = 65_536
SAFE_LIMIT = COMMENT_LIMIT - 1_536
FORMATS = ("markdown", "text", "json")
_SYMBOL = {"create": "+", "delete": "-", "update": "~", "replace": "-+"}
# Trimming steps, tried in order until the comment fits: (items per section, lines per item).
_BUDGETS: tuple[tuple[int | None, int | None], ...] = (
    (None, None),
    (None, 40),
    (200, 20),
    (100, 10),
    (50, 5),
    (25, 3),
    (10, 0),
    (3, 0),
    (0, 0),
)


def _value(value: Any, limit: int = 200) -> str:
    if value == SECRET:
        return SECRET
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _scalars(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, dict | list) for v in value)


def property_lines(changes: list[PropertyChange]) -> list[str]:
    """Changed properties as diff lines: `- path: old` and `+ path: new`; for a list of plain
    values only the items that left or arrived, which is what a reviewer looks for."""
    out = []
    for c in changes:
        if c.secret and c.kind == "update":
            out.append(f"~ {c.path}: changed (secret, value not shown)")
            continue
        if c.kind == "update" and _scalars(c.old) and _scalars(c.new):
            gone = [v for v in c.old if v not in c.new]
            came = [v for v in c.new if v not in c.old]
            if gone:
                out.append(f"- {c.path} (removed): {_value(gone)}")
            if came:
                out.append(f"+ {c.path} (added): {_value(came)}")
            if not gone and not came:
                out.append(f"~ {c.path}: same items, new order: {_value(c.new)}")
            continue
        if c.kind in ("update", "delete"):
            out.append(f"- {c.path}: {_value(c.old)}")
        if c.kind in ("update", "add"):
            out.append(f"+ {c.path}: {_value(c.new)}")
    return out


@dataclass
class Item:
    """One line of details, with the lines under it."""

    head: str
    lines: list[str] = field(default_factory=list)
    loud: bool = False


@dataclass
class Section:
    title: str
    items: list[Item]
    intro: str = ""
    total: int = -1  # items before trimming
    hidden_lines: int = 0

    @property
    def hidden_items(self) -> int:
        return max(0, self.total - len(self.items))

    @property
    def loud(self) -> bool:
        return any(i.loud for i in self.items)


def _short_type(type_: str) -> str:
    return type_.removeprefix("azure-native:")


def _resource_item(change: ResourceChange) -> Item:
    what = f"{_SYMBOL[change.op]} {change.op} {_short_type(change.type)} {change.name}"
    if change.azure_name and change.azure_name != change.name:
        what += f" (Azure name {change.azure_name})"
    if not change.custom:
        what += " (component, nothing in Azure)"
    lines = []
    if change.old_urn:
        lines.append(f"! was {change.old_urn}")
    if change.reason:
        lines.append(f"! {change.reason}")
    lines.extend(property_lines(change.changes))
    return Item(what, lines, loud=change.op == "replace")


def stack_section(stack: StackDiff) -> Section:
    items: list[Item] = []
    if stack.head_error:
        items.append(Item(f"! plan failed at head: {stack.head_error}", loud=True))
    if stack.base_error:
        items.append(
            Item(f"! plan failed at base: {stack.base_error} (head shown as if all new)", loud=True)
        )
    items.extend(_resource_item(c) for c in stack.resources)
    if stack.outputs:
        items.append(Item("~ outputs", property_lines(stack.outputs)))
    for derived in stack.derived:
        items.append(
            Item(
                f"{_SYMBOL[derived.op]} {derived.op} {derived.label}",
                property_lines(derived.changes),
            )
        )
    for v in stack.violations:
        mark = "new " if v.get("new") else ""
        items.append(
            Item(
                f"! {mark}{v.get('enforcement')} policy {v.get('policy')}: "
                f"{_short_type(str(v.get('type')))} {v.get('name')}: {v.get('message')}",
                loud=v.get("enforcement") == "mandatory",
            )
        )
    intro = f"{stack.unchanged} resource(s) unchanged; source: {stack.source}."
    if stack.policies_checked:
        intro += f" Policies checked at head: {len(stack.policies_checked)}."
    return Section(f"Azure stack {stack.stack}", items, intro)


def ansible_sections(report: DiffReport) -> list[Section]:
    if report.ansible is None:
        return []
    a = report.ansible
    items = []
    for change in a.changes:
        lines = []
        if change.hosts:
            lines.append(f"hosts: {', '.join(change.hosts)}")
        if change.note:
            lines.append(f"note: {change.note}")
        for var in change.variables:
            if var.kind == "add":
                lines.append(f"+ {var.name}" + (f": {var.new}" if var.new is not None else ""))
            elif var.kind == "delete":
                lines.append(f"- {var.name}" + (f": {var.old}" if var.old is not None else ""))
            elif var.old is None and var.new is None:
                lines.append(f"~ {var.name} (value not shown)")
            else:
                lines.append(f"- {var.name}: {var.old}")
                lines.append(f"+ {var.name}: {var.new}")
        items.append(Item(f"{change.path}: {change.subject}", lines))
    sections = []
    if items:
        sections.append(Section("Ansible: changed roles, variables and inventories", items))
    if report.check is not None:
        sections.append(_check_section(report))
    return sections


def cost_section(report: DiffReport) -> list[Section]:
    if not report.cost_shares:
        return []
    items = [Item(c.line) for c in report.cost_shares]
    return [
        Section(
            "Cost shares (region.yaml: municipalities, populations, cost key)",
            items,
            "Each municipality's share of the shared costs, from the next month's bill on.",
        )
    ]


def _check_section(report: DiffReport) -> Section:
    check = report.check
    assert check is not None
    items = []
    for slug, hosts in check.municipalities.items():
        for host in hosts:
            lines = [f"~ {t}" for t in host.changed_tasks]
            for text in host.diffs:
                lines.extend(text.splitlines())
            items.append(
                Item(
                    f"{slug} {host.host}: {host.status}, {len(host.changed_tasks)} change(s)", lines
                )
            )
    for slug, why in check.unreachable.items():
        items.append(Item(f"{slug}: not checked: {why}"))
    return Section(f"Ansible check mode ({check.env})", items, check.message)


def _trim(sections: list[Section], items: int | None, lines: int | None) -> list[Section]:
    out = []
    for s in sections:
        shown = s.items if items is None else s.items[:items]
        kept = []
        hidden = 0
        for item in shown:
            if lines is not None and len(item.lines) > lines:
                hidden += len(item.lines) - lines
                kept.append(Item(item.head, item.lines[:lines], item.loud))
            else:
                kept.append(item)
        out.append(Section(s.title, kept, s.intro, len(s.items), hidden))
    return out


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ilag_infra.diff", "templates"),
        autoescape=False,  # Markdown, not HTML; cells are escaped with the md filters below
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        # A value quoted from a file (a variable, a resource name) may hold an ESC or another
        # control character: shown escaped, so the report cannot drive the reader's terminal.
        finalize=lambda value: (
            controls_escaped(value, keep="\n\t") if isinstance(value, str) else value
        ),
    )
    env.filters["cell"] = _cell
    env.filters["fence"] = _fence
    env.filters["html"] = _html
    return env


def _cell(value: Any) -> str:
    text = " ".join(str(value).split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _html(value: Any) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fence(value: Any) -> str:
    # Content of a ``` block must not close it early.
    return str(value).replace("```", "'''")


def _context(report: DiffReport, sections: list[Section], trimmed: str) -> dict[str, Any]:
    replaces = [
        (s.stack, c) for s in report.stacks for c in s.resources if c.op == "replace" and c.custom
    ]
    renames = [(stack, c) for stack, c in replaces if c.needs_alias]
    recreates = [(stack, c) for stack, c in replaces if not c.needs_alias]
    return {
        "r": report,
        "marker": marker(report),
        "title": "ilag preview" if report.mode == "preview" else "ilag diff",
        "base": report.base + (f" ({report.base_sha[:12]})" if report.base_sha else ""),
        "head": report.head + (f" ({report.head_sha[:12]})" if report.head_sha else ""),
        "stacks": report.stacks,
        "renames": renames,
        "recreates": recreates,
        "municipalities": report.ansible.municipalities if report.ansible else [],
        "ansible": report.ansible,
        "check": report.check,
        "sections": sections,
        "trimmed": trimmed,
    }


def marker(report: DiffReport) -> str:
    """The comment's first line, by which CI finds the comment to update."""
    if report.mode == "preview" and report.stacks:
        return PREVIEW_MARKER.format(stack=report.stacks[0].stack)
    return MARKER


def render_text(report: DiffReport) -> str:
    sections = (
        [stack_section(s) for s in report.stacks] + ansible_sections(report) + cost_section(report)
    )
    sections = _trim(sections, None, None)
    return _env().get_template("diff.txt.j2").render(_context(report, sections, ""))


def render_markdown(report: DiffReport, limit: int = SAFE_LIMIT) -> str:
    """The PR comment: summary first (never trimmed), details trimmed until it fits."""
    full = (
        [stack_section(s) for s in report.stacks] + ansible_sections(report) + cost_section(report)
    )
    template = _env().get_template("diff.md.j2")
    text = ""
    for items, lines in _BUDGETS:
        sections = _trim(full, items, lines)
        hidden_items = sum(s.hidden_items for s in sections)
        hidden_lines = sum(s.hidden_lines for s in sections)
        note = ""
        if hidden_items or hidden_lines:
            note = (
                f"Details trimmed to stay under GitHub's {COMMENT_LIMIT:,}-character limit: "
                f"{hidden_items} item(s) and {hidden_lines} detail line(s) left out. "
                "Run `ilag diff` locally, or see the job's `--format text` output, for all of it."
            )
        text = template.render(_context(report, sections, note))
        if len(text) <= limit:
            return text
    # Only the summary is left; it is never cut, but say so if it alone is too long.
    return (
        text
        if len(text) <= COMMENT_LIMIT
        else text[: COMMENT_LIMIT - 200] + ("\n\n(summary cut at GitHub's limit)\n")
    )


def render_json(report: DiffReport) -> str:
    from ilag_infra.diff.run import scrub

    return json.dumps(scrub(report.to_dict(), set()), indent=2, ensure_ascii=False) + "\n"


def render(report: DiffReport, fmt: str) -> str:
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "text":
        return render_text(report)
    if fmt == "json":
        return render_json(report)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
