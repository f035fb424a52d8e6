"""The text `ilag onboard` adds: a region.yaml entry in the shipped style, a new hosts.yml, and
the slug added to the `for slug in` comment loops of the stack files.

Everything is written as text, so the comments and layout of the files stay as they are; the
caller parses the result back with the models before anything is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from ilag_infra.model.offboard import comment_loop_words
from ilag_infra.model.onboard_spec import HostSpec, SiteSpec

# Text YAML reads as itself: a letter first, then letters, digits, spaces and a few marks.
_PLAIN = re.compile(r"[^\W\d_][\w .()'/-]*[\w.)]|[^\W\d_]")
# Addresses, prefixes and object ids YAML reads as text too: dotted quads and dashed hex.
_PLAIN_VALUE = re.compile(
    r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?:/[0-9]{1,2})?"
    r"|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}",
    re.ASCII,
)
# Words YAML 1.1 (Ansible's reader) takes for booleans or null.
_SPECIAL = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}
_TOP_KEY = re.compile(r"[A-Za-z_][\w-]*\s*:")
_ITEM = re.compile(r"^(\s*)- slug:", re.MULTILINE)


def scalar(value: str) -> str:
    """value as a YAML scalar: plain when it reads back as the same text, else quoted."""
    if _PLAIN_VALUE.fullmatch(value) or (_PLAIN.fullmatch(value) and value.lower() not in _SPECIAL):
        return value
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def region_entry(
    slug: str,
    name: str,
    kommunenummer: str,
    population: int,
    spoke_prefix: str | None,
    technician_group: str,
    placeholder: bool,
    sites: Sequence[SiteSpec],
    indent: str = "  ",
) -> str:
    """One `municipalities` item, laid out like the shipped entries."""
    pad = indent + "  "
    lines = [
        f"{indent}- slug: {scalar(slug)}",
        f"{pad}name: {scalar(name)}",
        f"{pad}kommunenummer: {json.dumps(kommunenummer)}",
        f"{pad}population: {population}",
    ]
    if spoke_prefix is not None:
        lines.append(f"{pad}spoke_prefix: {scalar(spoke_prefix)}")
    lines.append(
        f"{pad}technician_group_object_id: {scalar(technician_group)}"
        + ("  # placeholder" if placeholder else "")
    )
    lines.append(f"{pad}sites:")
    for site in sites:
        lines += [
            f"{pad}  - name: {scalar(site.name)}",
            f"{pad}    vpn_endpoint: {scalar(site.vpn_endpoint)}",
            f"{pad}    networks:",
        ]
        for net in site.networks:
            flag = ", management: true" if net.management else ""
            lines.append(
                f"{pad}      - {{name: {scalar(net.name)}, prefix: {scalar(net.prefix)}{flag}}}"
            )
    return "\n".join(lines) + "\n"


def municipalities_end(text: str) -> int | None:
    """Offset where the `municipalities:` list ends (after its last non-blank line), or None
    when the file has no such top-level key."""
    lines = text.splitlines(keepends=True)
    offset, start = 0, None
    ends: list[int] = []
    for line in lines:
        if start is None:
            if line.startswith("municipalities:"):
                start = offset
                ends.append(offset + len(line))
        elif _TOP_KEY.match(line):
            break
        elif line.strip() and not line.startswith("#"):
            ends.append(offset + len(line))
        offset += len(line)
    return ends[-1] if start is not None else None


def item_indent(text: str) -> str:
    """The indentation of the existing `- slug:` items (two spaces in the shipped file)."""
    found = _ITEM.search(text)
    return found.group(1) if found else "  "


def append_entry(text: str, entry: str) -> str | None:
    """region.yaml with entry added as the last municipality, a blank line before it; None
    when there is no `municipalities:` key to add it to."""
    end = municipalities_end(text)
    if end is None:
        return None
    head, tail = text[:end], text[end:]
    if not head.endswith("\n"):
        head += "\n"
    if tail.strip():
        return head + "\n" + entry + "\n" + tail.lstrip("\n")
    return head + "\n" + entry


def hosts_file(slug: str, name: str, kommunenummer: str, sites: str, hosts: list[HostSpec]) -> str:
    """inventories/<slug>/hosts.yml in the shipped shape: every group under the municipality's
    group, the address written where the host first appears."""
    grouped: dict[str, list[str]] = {}
    ungrouped: list[str] = []
    for host in hosts:
        if not host.groups:
            ungrouped.append(host.name)
        for group in host.groups:
            grouped.setdefault(group, []).append(host.name)
    address = {h.name: h.address for h in hosts}
    # The address goes where the host's first group lists it, as in the shipped inventories.
    home = {h.name: h.groups[0] if h.groups else "" for h in hosts}

    def host_lines(names: list[str], pad: str, group: str = "") -> list[str]:
        out = []
        for host in names:
            out.append(f"{pad}{host}:")
            if home[host] == group:
                out.append(f"{pad}  ansible_host: {scalar(address[host])}")
        return out

    lines = [
        "---",
        f"# {name} kommune ({kommunenummer}): on-site servers at {sites}. Written by "
        "`ilag onboard`.",
        "all:",
        "  children:",
        f"    {slug}:",
    ]
    if ungrouped:
        lines += ["      hosts:", *host_lines(ungrouped, "        ")]
    if grouped:
        lines.append("      children:")
        for group, names in grouped.items():
            lines += [
                f"        {group}:",
                "          hosts:",
                *host_lines(names, "            ", group),
            ]
    return "\n".join(lines) + "\n"


def add_to_comment_loops(text: str, slug: str) -> str:
    """`# for slug in andoy bo; do` → `# for slug in andoy bo lodingen; do`, kept in order
    when the words were sorted, else added last."""
    out = []
    for line in text.splitlines(keepends=True):
        words = comment_loop_words(line)
        if words and slug not in words:
            new = sorted([*words, slug]) if words == sorted(words) else [*words, slug]
            old = "for slug in " + " ".join(words) + ";"
            line = line.replace(old, "for slug in " + " ".join(new) + ";", 1)
        out.append(line)
    return "".join(out)
