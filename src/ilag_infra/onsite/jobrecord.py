"""Run records for backup jobs (backup, restore, prune, drill), beside the apply records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ilag_infra.model import secrets
from ilag_infra.onsite import recordschema, recordstore, runrecord


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
    """Write runs/<run_id>-<kind>-<subject>.json through the record schema (fields carry the
    environment, municipality and ok verdict) and queue it for the store. Holds no secrets."""
    run_id = runrecord.new_run_id()
    # The second net, as in runrecord.write: values under secret names masked and a SAS
    # or password quoted in any message redacted, whatever the caller passed.
    masked = _masked(fields)
    record: dict[str, Any] = {
        **masked,
        **recordschema.envelope(
            kind,
            run_id,
            runrecord.who(),
            runrecord.git_commit(repo_root),
            str(fields["environment"]),
            str(fields["municipality"]),
            bool(fields["ok"]),
        ),
    }
    filename = f"{run_id}-{kind}-{subject}.json"
    return recordstore.save(runrecord.runs_dir(repo_root), filename, record)
