"""Run records for backup jobs (restore, prune, drill), beside the apply records in runs/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ilag_infra.model import secrets
from ilag_infra.onsite import runrecord


def _masked(obj: Any) -> Any:
    """secrets.mask_mapping, except that a yes/no or an absent value under a secret-sounding
    name (the drill's refused_unconfirmed_key) is a fact, not a secret, and stays readable."""
    if isinstance(obj, dict):
        return {
            k: _masked(v)
            if not secrets.is_secret_name(str(k)) or v is None or isinstance(v, bool)
            else secrets.mask_all(v)
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return [_masked(v) for v in obj]
    return secrets.mask_mapping(obj)


def write(repo_root: Path, kind: str, subject: str, fields: dict[str, Any]) -> Path:
    """Write runs/<run_id>-<kind>-<subject>.json and return its path. Holds no secret values."""
    run_id = runrecord.new_run_id()
    record: dict[str, Any] = {
        "run_id": run_id,
        "kind": kind,
        "who": runrecord.who(),
        "git_commit": runrecord.git_commit(repo_root),
        # The second net, as in runrecord.write: values under secret names masked and a SAS
        # or password quoted in any message redacted, whatever the caller passed.
        **_masked(fields),
    }
    out = runrecord.runs_dir(repo_root) / f"{run_id}-{kind}-{subject}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False), "utf-8")
    return out
