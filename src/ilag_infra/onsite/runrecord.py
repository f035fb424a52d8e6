"""The JSON record each run leaves behind: who, when, which commit, what happened per host."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ilag_infra.model import secrets
from ilag_infra.onsite import recordschema, recordstore
from ilag_infra.onsite.runner import ApplyRequest, MunicipalityResult

REVISION_FILE = "REVISION"


def runs_dir(repo_root: Path) -> Path:
    return Path(os.environ.get("ILAG_RUNS_DIR", repo_root / "runs"))


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid()}"


def git_commit(repo_root: Path) -> str:
    """HEAD, with '+dirty' when the work tree has uncommitted changes to tracked files.

    A node's copy of the repository has no .git: its REVISION file names the commit it was
    made from (onsite/nodebundle.py)."""
    revision = repo_root / REVISION_FILE
    if not (repo_root / ".git").exists() and revision.is_file():
        return revision.read_text(encoding="utf-8").strip() or "unknown"
    try:
        head = subprocess.run(
            ["git", "-C", str(repo_root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo_root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def write(
    repo_root: Path, run_id: str, env: str, req: ApplyRequest, result: MunicipalityResult
) -> Path:
    """Write runs/<run_id>-<slug>.json (kind apply, or check for --check) and queue it for the
    record store; return its path. Holds no secret values."""
    finished = parse_time(result.finished)
    record: dict[str, Any] = {
        **recordschema.envelope(
            "check" if req.check else "apply",
            run_id,
            who(),
            git_commit(repo_root),
            env,
            req.slug,
            result.succeeded,
            finished,
        ),
        "playbook": str(req.playbook),
        "tags": req.tags,
        "limit": req.limit,
        **result.to_dict(),
    }
    record.pop("slug", None)
    # The runner already keeps task output out of messages; this is the policy's second net
    # for a SAS URL or password quoted in a failure reason.
    record["messages"] = {h: secrets.redact_text(str(m)) for h, m in result.messages.items()}
    return recordstore.save(runs_dir(repo_root), f"{run_id}-{req.slug}.json", record)


def parse_time(value: str) -> datetime | None:
    """An ISO time from the runner, as UTC; None when it gave none."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
