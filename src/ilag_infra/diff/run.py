"""`ilag diff`: what a change does to Azure and to which municipalities' servers.

Each revision's stacks are planned offline in a child process that imports that revision's
own code (base from a temporary worktree, head from the working tree or a second worktree);
the two plans are compared by URN. The Ansible side comes from the changed paths.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from ilag_infra.diff import ansible as diffansible
from ilag_infra.diff import costshares, plan_store, stack_secrets
from ilag_infra.diff import git as diffgit
from ilag_infra.diff import plan as diffplan
from ilag_infra.diff import worker as diffworker
from ilag_infra.diff.report import DiffError, DiffReport
from ilag_infra.model.secrets import MASK, redact_text

STACKS = diffworker.DEFAULT_STACKS
# What an offline plan reads. Two revisions that agree on all of these have the same plan, so
# it is computed once (an Ansible-only change then costs one plan, not two).
PLAN_INPUTS = ("src", "stacks", "policy", "Pulumi.yaml", "region.yaml")
WORKER_TIMEOUT = 600.0
# The key of the secret fingerprints of every plan this process makes or reads back: the
# stored one (plan_store), so that stored plans stay comparable, else one of this process.
_fingerprint_key: bytes | None = None


def fingerprint_key() -> bytes:
    global _fingerprint_key
    if _fingerprint_key is None:
        _fingerprint_key = plan_store.fingerprint_key() or os.urandom(32)
    return _fingerprint_key


# --- planning a revision ----------------------------------------------------------------------


def _worker_command(tree: Path, outfile: Path) -> list[str]:
    """`-m ilag_infra.diff.worker` if the revision ships a compatible one, else this worker's
    source inline, importing that revision's plan module."""
    # Older revisions shipped the worker as ilag_infra/diffworker.py.
    for rel, module in (
        ("diff/worker.py", "ilag_infra.diff.worker"),
        ("diffworker.py", "ilag_infra.diffworker"),
    ):
        shipped = tree / "src" / "ilag_infra" / rel
        if shipped.is_file() and f"PROTOCOL = {diffworker.PROTOCOL}\n" in shipped.read_text(
            encoding="utf-8"
        ):
            return [sys.executable, "-m", module, str(tree), str(outfile)]
    source = Path(diffworker.__file__).read_text(encoding="utf-8")
    return [sys.executable, "-c", source, str(tree), str(outfile)]


def plan_revision(tree: Path, label: str) -> dict[str, Any]:
    """Every stack of the revision checked out at tree, planned in a child process."""
    if not (tree / "src" / "ilag_infra").is_dir():
        return {"protocol": diffworker.PROTOCOL, "program": False, "stacks": []}
    with tempfile.TemporaryDirectory(prefix="ilag-diff-plan-") as tmp:
        outfile = Path(tmp) / "plan.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        env["PYTHONPATH"] = str(tree / "src")
        env["ILAG_ROOT"] = str(tree)
        env[diffworker.FINGERPRINT_KEY_ENV] = fingerprint_key().hex()
        env.pop("ILAG_REGION", None)
        try:
            proc = subprocess.run(
                _worker_command(tree, outfile),
                cwd=tree,
                env=env,
                capture_output=True,
                text=True,
                timeout=WORKER_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DiffError(f"planning {label} took longer than {WORKER_TIMEOUT:.0f} s") from None
        if proc.returncode != 0 or not outfile.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise DiffError(
                f"planning {label} failed (exit {proc.returncode}): " + " | ".join(tail)
            )
        data: dict[str, Any] = json.loads(outfile.read_text(encoding="utf-8"))
    # Errors name files in the temporary checkout; name them relative to the repo instead.
    for entry in data.get("stacks", []):
        for key in ("error", "trace"):
            if key in entry:
                entry[key] = str(entry[key]).replace(f"{tree}/", "").replace(str(tree), ".")
    package = data.get("package")
    if package and not Path(package).is_relative_to(tree.resolve()):
        # The child imported an installed copy instead of the revision's code.
        raise DiffError(f"planning {label} imported {package}, not the revision's own code")
    return data


def _plans(
    root: Path,
    base: tuple[diffgit.Revision, Path],
    head: tuple[diffgit.Revision, Path],
    parallel: bool,
    cache: PlanCache,
) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [plan_inputs_key(root, rev) for rev, _ in (base, head)]
    stored: dict[str, str] = {}  # plan-input key → key in the store between runs
    for k, (_, tree) in zip(keys, (base, head), strict=True):
        if k is not None and k not in cache and _region_files_known(tree):
            stored[k] = plan_store.key(k, fingerprint_key())
            found = plan_store.load(stored[k])
            if found is not None:
                cache[k] = found
    jobs = {}
    with ThreadPoolExecutor(max_workers=2 if parallel else 1) as pool:
        for key, (rev, tree) in zip(keys, (base, head), strict=True):
            if key is not None and (key in cache or key in jobs):
                continue
            side = "base" if rev is base[0] else "head"
            jobs[key or side] = pool.submit(plan_revision, tree, f"{side} {rev.label}")
        done = {k: job.result() for k, job in jobs.items()}
    for k, plan in done.items():
        if k not in ("base", "head"):
            cache[k] = plan
            if k in stored:
                plan_store.store(stored[k], plan)
    base_plan = cache[keys[0]] if keys[0] is not None else done["base"]
    head_plan = cache[keys[1]] if keys[1] is not None else done["head"]
    return base_plan, head_plan


def diff_plans(base: dict[str, Any], head: dict[str, Any]) -> list[diffplan.StackDiff]:
    base_by = {s["stack"]: s for s in base.get("stacks", [])}
    head_by = {s["stack"]: s for s in head.get("stacks", [])}
    names = list(dict.fromkeys([*head_by, *base_by, *STACKS]))
    out = []
    for name in names:
        if name not in head_by and name not in base_by and not head.get("program", True):
            continue
        stack = diffplan.diff_stack(name, base_by.get(name), head_by.get(name))
        if not base.get("program", True):
            stack.base_missing = True
        out.append(stack)
    return out


def plan_inputs_key(root: Path, rev: diffgit.Revision) -> str | None:
    """The git object ids of everything the plan reads at rev; None if not knowable (a dirty
    working tree), in which case the plan is always computed."""
    sha = rev.sha
    if sha is None:
        dirty = diffgit.git(
            root, "status", "--porcelain", "--untracked-files=all", "--", *PLAN_INPUTS
        ).stdout
        if dirty.strip():
            return None
        sha = diffgit.git(root, "rev-parse", "--verify", "HEAD").stdout.strip()
    ids = []
    for path in PLAN_INPUTS:
        proc = diffgit.git(root, "rev-parse", "--verify", "--quiet", f"{sha}:{path}", check=False)
        ids.append(proc.stdout.strip() or "-")
    return " ".join(ids)


PlanCache = dict[str, dict[str, Any]]
_REGION_FILE = re.compile(r"^\s*ilag:regionFile:\s*[\"']?([^\"'#\s]+)", re.MULTILINE)


def _region_files_known(tree: Path) -> bool:
    """Every stack reads a region file the plan-input key covers (the root's region.yaml): a
    plan reading another file is not kept between runs."""
    for path in (tree / "stacks").glob("Pulumi.*.yaml"):
        for name in _REGION_FILE.findall(path.read_text(encoding="utf-8", errors="replace")):
            if name not in PLAN_INPUTS:
                return False
    return True


# --- secrets ----------------------------------------------------------------------------------


def _secure_values(tree: Path) -> set[str]:
    """Encrypted stack config values: ciphertext is not plaintext, but it stays out too."""
    found: set[str] = set()
    for path in sorted((tree / "stacks").glob("Pulumi.*.yaml")):
        text = path.read_text(encoding="utf-8", errors="replace")
        found |= {m for m in re.findall(r"secure:\s*[\"']?([A-Za-z0-9+/=:_.-]{8,})", text)}
    return found


def scrub(data: Any, secrets: set[str]) -> Any:
    """Mask SAS signatures, passwords (model.secrets) and known secret strings anywhere in a
    report's data."""
    if isinstance(data, dict):
        return {k: scrub(v, secrets) for k, v in data.items()}
    if isinstance(data, list):
        return [scrub(v, secrets) for v in data]
    if isinstance(data, str):
        # Fingerprints first, so redaction sees the plain mask; then the secrets policy.
        text = redact_text(diffworker.FINGERPRINT.sub(MASK, data))
        for secret in secrets:
            if secret and secret in text:
                text = text.replace(secret, MASK)
        return text
    return data


def _scrub_report(report: DiffReport, secrets: set[str]) -> None:
    for stack in report.stacks:
        for change in stack.resources:
            for prop in change.changes:
                prop.old, prop.new = scrub(prop.old, secrets), scrub(prop.new, secrets)
        for prop in stack.outputs:
            prop.old, prop.new = scrub(prop.old, secrets), scrub(prop.new, secrets)
        stack.violations = scrub(stack.violations, secrets)
        if stack.head_error:
            stack.head_error = scrub(stack.head_error, secrets)
        if stack.base_error:
            stack.base_error = scrub(stack.base_error, secrets)
    if report.check is not None:
        for hosts in report.check.municipalities.values():
            for host in hosts:
                host.diffs = scrub(host.diffs, secrets)


def _secret_impacts(report: DiffReport, names: dict[str, str]) -> None:
    """A changed secret is shown by key path, and the municipalities whose site must follow
    (a VPN key: the site's firewall) appear in the municipality table."""
    for change in report.secrets:
        report.notes.append(change.line)
        if report.ansible is None:
            continue
        for slug in change.municipalities:
            impact = next((m for m in report.ansible.municipalities if m.slug == slug), None)
            if impact is None:
                impact = diffansible.MunicipalityImpact(slug, names.get(slug, slug), "azure-only")
                report.ansible.municipalities.append(impact)
            what = ", ".join(change.resources)
            reason = f"{change.key}: {change.kind} (secret) for {what}"
            if change.note:
                reason += f"; {change.note}"
            if reason not in impact.reasons:
                impact.reasons.append(reason)


# --- the whole diff ---------------------------------------------------------------------------


def run_diff(
    root: Path,
    base_ref: str,
    head_ref: str | None = None,
    *,
    check_env: str | None = None,
    parallel: bool = True,
    cache: PlanCache | None = None,
) -> DiffReport:
    """Diff base against head (None: the working tree); check_env also runs check mode.
    cache maps plan-input keys to plans, so callers diffing many revisions plan each once."""
    started = time.perf_counter()
    root = diffgit.toplevel(root)
    base = diffgit.resolve(root, base_ref, "--base")
    head = diffgit.resolve(root, head_ref, "--head")
    report = DiffReport(base.label, head.label, base.sha, head.sha)
    changed = diffgit.changed_files(root, base, head)
    with ExitStack() as stack:
        base_tree = stack.enter_context(diffgit.checkout(root, base))
        head_tree = stack.enter_context(diffgit.checkout(root, head))
        base_plan, head_plan = _plans(
            root, (base, base_tree), (head, head_tree), parallel, {} if cache is None else cache
        )
        report.stacks = diff_plans(base_plan, head_plan)
        if not base_plan.get("program", True):
            report.notes.append(
                f"The base {base.label} has no Azure program: every resource counts as created."
            )
        views = diffansible.read_view(base_tree), diffansible.read_view(head_tree)
        report.ansible = diffansible.diff_ansible(views[0], views[1], changed)
        report.secrets = stack_secrets.secret_changes(
            base_tree, head_tree, base_plan, head_plan, fingerprint_key()
        )
        _secret_impacts(report, {**views[0].names, **views[1].names})
        report.cost_shares = costshares.changes(base_tree, head_tree)
        for problem in report.ansible.problems:
            report.notes.append(f"bad input at head: {problem}")
        report.notes.extend(report.ansible.notes)
        secrets = _secure_values(base_tree) | _secure_values(head_tree)
        if check_env is not None:
            from ilag_infra.diff import check as diffcheck

            report.check = diffcheck.run_check(head_tree, report.ansible, check_env)
    _scrub_report(report, secrets)
    report.seconds = round(time.perf_counter() - started, 2)
    return report
