"""A cache of offline plans, one file per stack plan, keyed by a hash of all the plan reads.

A plan is a pure function of the stack's config (project defaults, the stack file, the
placeholders filled in), its region file, the planned outputs of its upstream stacks, the
mode (preview, production), the project's code and the installed Pulumi packages. The key
hashes every one of them, the files by content, so a changed input can only miss.

What is stored is the plan exactly as `ilag plan --json` prints it: encrypted config is
already "[secret]" before the program sees it and secret outputs are masked, so the cache
holds no secret. `ILAG_PLAN_CACHE` names another directory, or `off` to plan afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import ilag_infra

ENV = "ILAG_PLAN_CACHE"
# Bumped when what is stored, or how it is read back, changes.
FORMAT = 1
# The distributions whose code runs in a plan; a new version of any may plan differently.
PACKAGES = ("pulumi", "pulumi_azure_native", "protobuf", "grpcio")
KEEP = 200  # plan files kept; the oldest go first

_source_digest: str | None = None


def directory() -> Path | None:
    """Where plans are kept, or None when caching is off."""
    chosen = os.environ.get(ENV, "")
    if chosen.lower() in ("off", "0", "no", "false"):
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ilag-infra" / "plans"


def versions() -> list[str]:
    """Python and the Pulumi packages, as name=version."""
    found = [f"python={sys.version}"]
    for name in PACKAGES:
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=-")
    return found


def tree_digest(package: Path) -> str:
    """Every file under package (compiled files left out), by relative path and content."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def source_digest() -> str:
    """The project's own code, the whole package: the program, the plan, the policies and
    the model they read. Read once per process."""
    global _source_digest
    if _source_digest is None:
        _source_digest = tree_digest(Path(ilag_infra.__file__).resolve().parent)
    return _source_digest


def _file(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "-"


def key(
    stack: str,
    *,
    root: Path,
    config: Mapping[str, str],
    secret_keys: Iterable[str],
    region_file: Path,
    upstream: Mapping[str, Any],
    preview: bool,
    production: bool,
) -> str:
    """The hash of everything the stack's plan reads."""
    stack_files = sorted((root / "stacks").glob("Pulumi.*.yaml"))
    parts = {
        "format": FORMAT,
        "stack": stack,
        "root": str(root),
        "preview": preview,
        "production": production,
        "config": dict(sorted(config.items())),
        "secret_keys": sorted(secret_keys),
        "region": [str(region_file), _file(region_file)],
        "project": _file(root / "Pulumi.yaml"),
        # Every stack file, not only this one: a program may read a neighbour's settings.
        "stacks": {p.name: _file(p) for p in stack_files},
        "upstream": upstream,
        "source": source_digest(),
        "versions": versions(),
    }
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def load(plan_key: str) -> dict[str, Any] | None:
    """The stored plan (as `to_dict` gave it) for this key, or None: caching off, never
    stored, or unreadable."""
    where = directory()
    if where is None:
        return None
    path = where / f"{plan_key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        os.utime(path)  # recently used: kept when older plans are pruned
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    plan = data.get("plan")
    return plan if isinstance(plan, dict) else None


def store(plan_key: str, plan: Mapping[str, Any]) -> None:
    """Keep a plan; a cache that cannot be written only costs the next run its time."""
    where = directory()
    if where is None:
        return
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".plan-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"format": FORMAT, "plan": plan}, out, ensure_ascii=False)
        os.replace(tmp, where / f"{plan_key}.json")
        _prune(where)
    except OSError:
        return


def _prune(where: Path) -> None:
    files = sorted(where.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[KEEP:]:
        old.unlink(missing_ok=True)
