"""Secrets in the stacks' config files: which changed, which became plain text, and which
Azure resources consume them. Values are never read into a report, only compared."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ilag_infra.diff.worker import fingerprint
from ilag_infra.model import yamlsource
from ilag_infra.model.secrets import is_secret_name

STACK_DIR = "stacks"
# Resource types whose secret input must also be set on a device outside Azure.
_OFF_AZURE = {
    "VirtualNetworkGatewayConnection": "the site's firewall needs the new key, or its "
    "tunnel stays down after `pulumi up`",
}


@dataclass
class SecretChange:
    """One secret config entry that differs between base and head."""

    file: str  # stacks/Pulumi.<stack>.yaml
    stack: str
    key: str  # ilag:vpnSharedKeys.hadsel
    kind: str  # changed | added | removed | now-plain
    resources: list[str] = field(default_factory=list)  # Azure names of the consumers
    municipalities: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def line(self) -> str:
        """One sentence for a reviewer, naming the key and what consumes it."""
        if self.kind == "now-plain":
            return (
                f"{self.key} in {self.file} is now plain text: it was set with --secret. "
                "Rotate the key (it is in git history now) and set it again with "
                f"`pulumi config set --secret --path '{self.key}' <value> -s {self.stack}`"
            )
        what = ", ".join(self.resources) if self.resources else "no resource in the plan"
        text = f"{self.key} ({self.file}): {self.kind} (secret); consumed by {what}"
        return f"{text}; {self.note}" if self.note else text


def _leaves(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict) and set(value) == {"secure"}:
        yield path, value
    elif isinstance(value, dict):
        for key, sub in value.items():
            yield from _leaves(sub, (*path, str(key)))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _leaves(sub, (*path, str(index)))
    else:
        yield path, value


def read_config(tree: Path, stack: str) -> dict[str, Any]:
    """A stack file's config mapping; {} if it is missing or unreadable (the plan says why)."""
    try:
        data, _ = yamlsource.load(tree / STACK_DIR / f"Pulumi.{stack}.yaml")
    except yamlsource.YamlSourceError:
        return {}
    config = data.get("config") if isinstance(data, dict) else None
    return config if isinstance(config, dict) else {}


def secret_entries(config: dict[str, Any]) -> dict[str, tuple[bool, str]]:
    """Every config leaf that is or looks secret: dotted key → (stored encrypted, the
    ciphertext or the value). Used for comparison only."""
    out: dict[str, tuple[bool, str]] = {}
    for top, value in config.items():
        secret_key = is_secret_name(str(top).split(":", 1)[-1])
        for path, leaf in _leaves(value, (str(top),)):
            dotted = ".".join(path)
            if isinstance(leaf, dict):
                out[dotted] = (True, str(leaf["secure"]))
            elif secret_key or any(is_secret_name(p) for p in path[1:]):
                out[dotted] = (False, str(leaf))
    return out


def _stacks(*trees: Path) -> list[str]:
    names: set[str] = set()
    for tree in trees:
        for path in (tree / STACK_DIR).glob("Pulumi.*.yaml"):
            names.add(path.name.removeprefix("Pulumi.").removesuffix(".yaml"))
    return sorted(names)


def _contains(value: Any, needle: str) -> bool:
    if isinstance(value, dict):
        return any(_contains(v, needle) for v in value.values())
    if isinstance(value, list):
        return any(_contains(v, needle) for v in value)
    return isinstance(value, str) and needle in value


def _consumers(plan: dict[str, Any], stack: str, needle: str) -> list[dict[str, Any]]:
    for entry in plan.get("stacks", []):
        if entry.get("stack") == stack:
            resources = (entry.get("plan") or {}).get("resources", [])
            return [
                r for r in resources if r.get("custom", True) and _contains(r["inputs"], needle)
            ]
    return []


def secret_changes(
    base_tree: Path,
    head_tree: Path,
    base_plan: dict[str, Any],
    head_plan: dict[str, Any],
    key: bytes,
) -> list[SecretChange]:
    """Secret config entries that differ, with the resources consuming them at head (or at
    base for a removed one), found by the same keyed fingerprint the plan worker records."""
    out: list[SecretChange] = []
    for stack in _stacks(base_tree, head_tree):
        old = secret_entries(read_config(base_tree, stack))
        new = secret_entries(read_config(head_tree, stack))
        for dotted in sorted(set(old) | set(new)):
            a, b = old.get(dotted), new.get(dotted)
            if a == b or (a is not None and b is not None and not a[0] and not b[0]):
                continue  # unchanged, or plain on both sides (the plan check refuses that)
            if b is None:
                kind = "removed"
            elif a is None:
                kind = "added" if b[0] else "now-plain"
            else:
                kind = "now-plain" if a[0] and not b[0] else "changed"
            side, plan = (a, base_plan) if b is None else (b, head_plan)
            assert side is not None
            needle = fingerprint("secure" if side[0] else "plain", side[1], key)
            users = _consumers(plan, stack, needle)
            change = SecretChange(f"{STACK_DIR}/Pulumi.{stack}.yaml", stack, dotted, kind)
            change.resources = sorted(_azure_name(r) for r in users)
            slugs = {
                str(((r.get("inputs") or {}).get("tags") or {}).get("municipality", ""))
                for r in users
            }
            change.municipalities = sorted(s for s in slugs if s and s != "shared")
            notes = {
                _OFF_AZURE.get(t, "") for t in (str(r["type"]).rsplit(":", 1)[-1] for r in users)
            }
            change.note = "; ".join(sorted(n for n in notes if n))
            out.append(change)
    return out


def _azure_name(resource: dict[str, Any]) -> str:
    from ilag_infra.diff.plan import physical_name

    return physical_name(str(resource["type"]), resource.get("inputs") or {}) or str(
        resource["name"]
    )
