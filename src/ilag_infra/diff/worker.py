"""Plan every Azure stack of one revision offline and write the results as JSON.

`ilag diff` runs this in a child process whose PYTHONPATH is the revision's `src/` and whose
working directory is the revision's root, so that revision's own program and plan code run.
It imports nothing from ilag_infra at module level and only the standard library otherwise,
because `ilag diff` also passes this file's source to `python -c` for older revisions that do
not have it. Usage: python -m ilag_infra.diff.worker ROOT OUTFILE
"""

from __future__ import annotations

import inspect
import json
import sys
import traceback
from pathlib import Path
from typing import Any

PROTOCOL = 1
DEFAULT_STACKS = ("network", "identity", "backup")
# Invoke arguments that could carry credentials are never written out. This is a copy of
# ilag_infra.model.secrets (its names and "[secret]" mask) on purpose: this file must stay
# standard-library-only and import nothing from ilag_infra, because its source also runs
# against older revisions that have no such module. Keep the two in step.
_SENSITIVE = ("key", "secret", "password", "token", "sig", "credential")


def _masked_args(args: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(args, dict):
        return out
    for name, value in sorted(args.items()):
        lowered = str(name).lower()
        if any(s in lowered for s in _SENSITIVE) and lowered != "keytosign":
            out[str(name)] = "[secret]"
        else:
            out[str(name)] = json.loads(json.dumps(value, default=str))
    return out


def _record_invokes(plan: Any) -> list[dict[str, Any]]:
    """Data-source calls (e.g. a container's SAS) of an older revision whose plan API does not
    report them: a SAS is only visible as a secret output, so wrap the mocks' call."""
    calls: list[dict[str, Any]] = []
    mocks = getattr(plan, "_Mocks", None)
    original = getattr(mocks, "call", None)
    if mocks is None or original is None:
        return calls

    def call(self: Any, args: Any) -> Any:
        calls.append({"token": str(args.token), "args": _masked_args(dict(args.args or {}))})
        return original(self, args)

    mocks.call = call
    return calls


def _run_stack(plan: Any, stack: str, root: Path, feeds: dict[str, Any]) -> Any:
    params = inspect.signature(plan.run).parameters
    kwargs: dict[str, Any] = {}
    if "root" in params:
        kwargs["root"] = root
    if "upstream" in params:
        kwargs["upstream"] = feeds
    return plan.run(stack, **kwargs)


def plan_revision(root: Path) -> dict[str, Any]:
    """Every stack of the revision at root, planned in order, each failure kept per stack."""
    out: dict[str, Any] = {"protocol": PROTOCOL, "program": True, "stacks": []}
    try:
        import ilag_infra

        out["package"] = str(Path(ilag_infra.__file__).resolve())
        from ilag_infra.azure import plan
    except ImportError as exc:
        # An older revision without the Azure program: its plan is empty.
        out["program"] = False
        out["reason"] = f"{type(exc).__name__}: {exc}"
        return out
    # Newer plans report their provider calls; only older revisions need the mocks wrapped.
    reports_invokes = "invokes" in getattr(
        getattr(plan, "PlanResult", None), "__dataclass_fields__", {}
    )
    calls: list[dict[str, Any]] = [] if reports_invokes else _record_invokes(plan)
    feeds: dict[str, Any] = {}
    for stack in getattr(plan, "STACK_ORDER", DEFAULT_STACKS):
        calls.clear()
        entry: dict[str, Any] = {"stack": stack}
        try:
            result = _run_stack(plan, stack, root, feeds)
        except Exception as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}".strip()
            entry["trace"] = traceback.format_exc(limit=3)[-2000:]
        else:
            feeds[stack] = result.outputs
            entry["plan"] = result.to_dict()
            entry["invokes"] = (
                [
                    {"token": str(i.token), "args": _masked_args(dict(i.args))}
                    for i in result.invokes
                ]
                if reports_invokes
                else list(calls)
            )
        out["stacks"].append(entry)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m ilag_infra.diff.worker ROOT OUTFILE\n")
        return 2
    root, outfile = Path(argv[0]).resolve(), Path(argv[1])
    data = plan_revision(root)
    outfile.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
