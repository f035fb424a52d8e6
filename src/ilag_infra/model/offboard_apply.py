"""Make an offboarding plan's file changes: region.yaml, systems.yaml and the stack files are
edited round-trip (comments and order kept), the municipality's inventory directory goes."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from ilag_infra.model import systems
from ilag_infra.model.offboard import OffboardPlan, comment_loop_words


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line someone wrote
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load(path: Path) -> Any:
    return _yaml().load(path.read_text(encoding="utf-8"))


def _dump(path: Path, data: Any, explicit_start: bool) -> str:
    yaml = _yaml()
    yaml.explicit_start = explicit_start
    buf = io.StringIO()
    yaml.dump(data, buf)
    # The blank line that separated a removed last entry would be left at the end.
    return buf.getvalue().rstrip("\n") + "\n"


def _write(path: Path, text: str) -> None:
    # Written beside and renamed: a crash leaves the old file or the new one, never half.
    tmp = path.with_name(path.name + ".offboard-tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _drop_from_comment_loops(text: str, slug: str) -> str:
    """`# for slug in andoy bo hadsel; do` → `# for slug in andoy hadsel; do`."""
    out = []
    for line in text.splitlines(keepends=True):
        words = comment_loop_words(line)
        if slug in words:
            old = "for slug in " + " ".join(words) + ";"
            new = "for slug in " + " ".join(w for w in words if w != slug) + ";"
            line = line.replace(old, new, 1)
        out.append(line)
    return "".join(out)


def _remove_region_entry(path: Path, slug: str) -> str:
    data = _load(path)
    munis = data["municipalities"]
    index = next(i for i, m in enumerate(munis) if m.get("slug") == slug)
    # A comment after the removed entry belongs to it; the blank line before the next entry
    # is kept by ruamel on the previous item's end.
    del munis[index]
    return _dump(path, data, path.read_text(encoding="utf-8").startswith("---"))


def _remove_systems(path: Path, slug: str) -> str:
    data = _load(path)
    kept = []
    for entry in data.get("systems") or []:
        used = entry.get("municipalities")
        if used is not None and slug in used:
            if len(used) == 1:
                continue
            del used[slug]
        kept.append(entry)
    entries = data["systems"]
    for entry in list(entries):
        if entry not in kept:
            entries.remove(entry)
    return _dump(path, data, path.read_text(encoding="utf-8").startswith("---"))


def _remove_stack_keys(path: Path, slug: str, keys: list[str]) -> str:
    if not keys:  # only a comment names it: the text is edited, nothing re-dumped
        return _drop_from_comment_loops(path.read_text(encoding="utf-8"), slug)
    data = _load(path)
    config = data["config"]
    for key in keys:
        value = config.get(key)
        if hasattr(value, "pop"):
            value.pop(slug, None)
            if not value:
                del config[key]
    text = _dump(path, data, path.read_text(encoding="utf-8").startswith("---"))
    return _drop_from_comment_loops(text, slug)


def apply(plan: OffboardPlan, root: Path, region_file: Path) -> list[str]:
    """Make the plan's file changes under root; returns what was changed, in order.

    Every new text is computed before the first write, so bad YAML stops it with nothing
    changed."""
    slug = plan.slug
    texts: dict[Path, str] = {region_file: _remove_region_entry(region_file, slug)}
    if plan.systems_entries:
        path = root / systems.SYSTEMS_FILE
        texts[path] = _remove_systems(path, slug)
    by_file: dict[str, list[str]] = {}
    for rel, key in plan.stack_keys:
        by_file.setdefault(rel, []).append(key)
    for change in plan.files:
        if change.path.startswith("stacks/") and change.path not in by_file:
            by_file[change.path] = []
    for rel, keys in sorted(by_file.items()):
        texts[root / rel] = _remove_stack_keys(root / rel, slug, keys)
    done = []
    for path, text in texts.items():
        _write(path, text)
        done.append(f"edited {path.relative_to(root) if path.is_relative_to(root) else path}")
    inv_dir = root / "inventories" / slug
    if inv_dir.is_dir():
        shutil.rmtree(inv_dir)
        done.append(f"removed inventories/{slug}/")
    return done
