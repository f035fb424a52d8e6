"""Plans of whole revisions kept between `ilag diff` runs, keyed by what the plan reads.

A revision's plan is a function of its plan inputs (the git object ids `run.plan_inputs_key`
gives: src, stacks, policy, Pulumi.yaml, region.yaml), the worker protocol and source, the
Python and Pulumi package versions, and the key its secret fingerprints are made with. So a
base that was planned before (the usual `ilag diff origin/main` during a review) is read back.

Secret values never reach a plan: it runs offline, encrypted config is ciphertext (already in
git) and every secret is stored only as a keyed fingerprint. The fingerprint key lives beside
the plans, readable by the owner only, so stored fingerprints stay comparable between runs.
`ILAG_PLAN_CACHE` (see azure/plan_cache.py) moves the cache or turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ilag_infra.azure import plan_cache
from ilag_infra.diff import worker as diffworker

FORMAT = 1
KEEP = 40  # revisions kept; the least recently used go first


def directory() -> Path | None:
    plans = plan_cache.directory()
    return None if plans is None else plans.parent / "revisions"


def fingerprint_key() -> bytes | None:
    """The stored key for secret fingerprints, made on first use; None when caching is off
    or the key cannot be kept (the diff then uses a key of its own process)."""
    where = directory()
    if where is None:
        return None
    path = where / "fingerprint.key"
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.is_file():
            fd, tmp = tempfile.mkstemp(dir=where, prefix=".key-")
            with os.fdopen(fd, "wb") as out:
                out.write(os.urandom(32))
            os.replace(tmp, path)
        if path.stat().st_mode & 0o077:
            return None  # others could read it: do not trust it
        key = path.read_bytes()
    except OSError:
        return None
    return key if len(key) == 32 else None


def key(inputs_key: str, fingerprint: bytes) -> str:
    worker_source = Path(diffworker.__file__).read_bytes()
    parts = [
        f"format={FORMAT}",
        f"protocol={diffworker.PROTOCOL}",
        inputs_key,
        hashlib.sha256(worker_source).hexdigest(),
        hashlib.sha256(fingerprint).hexdigest(),
        *plan_cache.versions(),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def load(plan_key: str) -> dict[str, Any] | None:
    where = directory()
    if where is None:
        return None
    path = where / f"{plan_key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        os.utime(path)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    plan = data.get("plan")
    return plan if isinstance(plan, dict) else None


def store(plan_key: str, plan: dict[str, Any]) -> None:
    where = directory()
    if where is None:
        return
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".plan-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"format": FORMAT, "plan": plan}, out, ensure_ascii=False)
        os.replace(tmp, where / f"{plan_key}.json")
        files = sorted(where.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        return
