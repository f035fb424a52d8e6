"""`ilag preview`: the real `pulumi preview` of a stack, through Pulumi's Automation API,
rendered like `ilag diff`. Needs the Pulumi CLI and credentials; says what to install if not."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

from ilag_infra.diff.plan import (
    CREATE,
    DELETE,
    REPLACE,
    SECRET,
    UPDATE,
    PropertyChange,
    ResourceChange,
    StackDiff,
    physical_name,
)
from ilag_infra.diff.report import DiffReport
from ilag_infra.model import placeholders
from ilag_infra.model.errors import IlagError, InputError, Problem

STACK_NAME = re.compile(r"^(network|identity|backup)(-[a-z0-9]+)?$")
# The engine's own marker for a secret value inside property maps.
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_OPS = {
    "create": CREATE,
    "update": UPDATE,
    "delete": DELETE,
    "replace": REPLACE,
    "create-replacement": REPLACE,
    "delete-replaced": REPLACE,
    "import": CREATE,
    "import-replacement": REPLACE,
}
MISSING_CLI = (
    "the Pulumi CLI is not installed (no `pulumi` on PATH). `ilag preview` runs the real "
    "preview through it. Install it (https://www.pulumi.com/docs/install/, e.g. "
    "`curl -fsSL https://get.pulumi.com | sh`), log in to the state backend and make Azure "
    "credentials available; see docs/operators.md (backend, secrets provider) and docs/ci.md "
    "(CI with OIDC). Without the CLI, `ilag plan` and `ilag diff` work offline."
)


class PreviewError(IlagError):
    """The preview could not run or failed."""


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return SECRET
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


_MISSING = object()


def _lookup(data: Any, path: str) -> Any:
    """A value at an engine property path like `properties.addressSpace.prefixes[0]`."""
    node = data
    for part in re.findall(r"[^.\[\]]+|\[\d+\]|\[\"[^\"]*\"\]", path):
        if part.startswith('["'):
            key: str | int = part[2:-2]
        elif part.startswith("["):
            key = int(part[1:-1])
        else:
            key = part
        in_list = isinstance(key, int) and isinstance(node, list) and key < len(node)
        in_map = isinstance(key, str) and isinstance(node, dict) and key in node
        if not (in_list or in_map):
            return _MISSING
        node = node[key]
    return node


def _property_changes(meta: Any) -> list[PropertyChange]:
    old = _mask(getattr(meta.old, "inputs", None) or {}) if meta.old else {}
    new = _mask(getattr(meta.new, "inputs", None) or {}) if meta.new else {}
    paths = list((meta.detailed_diff or {}).keys()) or list(meta.diffs or [])
    out = []
    for path in sorted(paths):
        a, b = _lookup(old, path), _lookup(new, path)
        if a is _MISSING and b is _MISSING:
            out.append(PropertyChange(path, "update", None, None))
        elif a is _MISSING:
            out.append(PropertyChange(path, "add", None, b))
        elif b is _MISSING:
            out.append(PropertyChange(path, "delete", a, None))
        else:
            out.append(PropertyChange(path, "update", a, b))
    return out


def stack_diff_from_events(stack: str, events: list[Any]) -> StackDiff:
    """Turn the engine's events (pulumi.automation EngineEvent) into the diff's model."""
    result = StackDiff(stack, source="pulumi preview")
    seen: dict[str, ResourceChange] = {}
    errors: list[str] = []
    for event in events:
        pre = getattr(event, "resource_pre_event", None)
        policy = getattr(event, "policy_event", None)
        diag = getattr(event, "diagnostic_event", None)
        if pre is not None:
            meta = pre.metadata
            op_name = str(getattr(meta.op, "value", meta.op))
            if op_name == "same":
                result.unchanged += 1
                continue
            op = _OPS.get(op_name)
            if op is None or meta.type == "pulumi:pulumi:Stack":
                continue
            state = meta.new or meta.old
            inputs = _mask(getattr(state, "inputs", None) or {})
            custom = bool(getattr(state, "custom", True))
            if meta.urn in seen:
                if op == REPLACE:
                    seen[meta.urn].op = REPLACE
                continue
            change = ResourceChange(
                op=op,
                urn=meta.urn,
                type=meta.type,
                name=meta.urn.rsplit("::", 1)[-1],
                custom=custom,
                azure_name=physical_name(meta.type, inputs) if custom else None,
                changes=_property_changes(meta) if op in (UPDATE, REPLACE) else [],
            )
            if op == REPLACE and meta.keys:
                change.reason = (
                    f"replaced because {', '.join(meta.keys)} cannot change in place; "
                    "if only the logical name changed, add an alias instead"
                )
            seen[meta.urn] = change
        elif policy is not None:
            urn = policy.resource_urn or ""
            result.violations.append(
                {
                    "policy": policy.policy_name,
                    "urn": urn,
                    "type": urn.split("::")[-2].rsplit("$", 1)[-1] if urn.count("::") >= 3 else "",
                    "name": urn.rsplit("::", 1)[-1],
                    "message": policy.message,
                    "enforcement": policy.enforcement_level,
                    "new": False,
                }
            )
        elif diag is not None and diag.severity == "error":
            errors.append(" ".join(str(diag.message).split()))
    order = {REPLACE: 0, DELETE: 1, CREATE: 2, UPDATE: 3}
    result.resources = sorted(seen.values(), key=lambda c: (order[c.op], not c.custom, c.urn))
    if errors:
        result.head_error = "; ".join(errors)[:2000]
    return result


def _refuse_placeholders(root: Path, stack: str) -> None:
    """A real preview of a prod stack with shipped placeholders would fail in the program
    itself; say so at once, naming file, line and key, without the engine."""
    path = root / "stacks" / f"Pulumi.{stack}.yaml"
    if path in placeholders.production_stack_files(root):
        problems = placeholders.stack_file_problems(path, f"stacks/{path.name}")
        if problems:
            raise InputError(problems)


def preview(root: Path, stack: str) -> DiffReport:
    """The real preview of one stack; PreviewError when the CLI is missing or it fails."""
    if not STACK_NAME.match(stack):
        raise InputError(
            [
                Problem(
                    "command line",
                    "--stack",
                    f"unknown stack {stack!r}",
                    "use network, identity or backup, optionally with -<env> (network-prod)",
                )
            ]
        )
    _refuse_placeholders(root, stack)
    if shutil.which("pulumi") is None:
        raise PreviewError(MISSING_CLI)
    from pulumi import automation as auto

    started = time.perf_counter()
    events: list[Any] = []
    try:
        ws_stack = auto.select_stack(stack_name=stack, work_dir=str(root))
        packs = (
            [str(root / "policy")] if (root / "policy" / "PulumiPolicy.yaml").is_file() else None
        )
        ws_stack.preview(diff=True, on_event=events.append, policy_packs=packs, color="never")
    except FileNotFoundError:
        raise PreviewError(MISSING_CLI) from None
    except auto.errors.StackNotFoundError:
        raise PreviewError(
            f"stack {stack!r} does not exist in the logged-in backend; create it with "
            f"`pulumi stack init {stack}` (see docs/operators.md)"
        ) from None
    except auto.errors.CommandError as exc:
        # The events gathered so far still say which resource failed.
        partial = stack_diff_from_events(stack, events)
        if partial.head_error is None:
            lines = [ln for ln in str(exc).splitlines() if ln.strip()]
            partial.head_error = " ".join(lines[-3:])[:2000]
        report = DiffReport(f"stack {stack} (deployed)", "this checkout", None, None, "preview")
        report.stacks = [partial]
        return report
    report = DiffReport(f"stack {stack} (deployed)", "this checkout", None, None, "preview")
    report.stacks = [stack_diff_from_events(stack, events)]
    report.seconds = round(time.perf_counter() - started, 2)
    return report
