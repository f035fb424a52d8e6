"""Run records for backup jobs (restore, prune, drill), beside the apply records in runs/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ilag_infra.model import secrets
from ilag_infra.onsite import runrecord


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
        **secrets.mask_mapping(fields),
    }
    out = runrecord.runs_dir(repo_root) / f"{run_id}-{kind}-{subject}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False), "utf-8")
    return out
