"""Git for `ilag diff`: resolve revisions, check one out in a throwaway worktree, list changes."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from ilag_infra.model.errors import IlagError, InputError, Problem

WORKTREE = "WORKTREE"


class GitError(IlagError):
    """A git command failed for a reason other than bad input."""


@dataclass(frozen=True)
class Revision:
    """One side of a diff: a commit, or the working tree (sha is None)."""

    label: str
    sha: str | None

    @property
    def is_worktree(self) -> bool:
        return self.sha is None

    @property
    def short(self) -> str:
        return self.sha[:12] if self.sha else "working tree"


def git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git in root; a failure raises GitError carrying git's own message."""
    proc = subprocess.run(
        ["git", "-C", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if check and proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise GitError(f"git {' '.join(args)} failed: {msg[-1] if msg else proc.returncode}")
    return proc


def toplevel(root: Path) -> Path:
    """The repository holding root; bad input if it is not a git checkout."""
    proc = git(root, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        raise InputError(
            [
                Problem(
                    str(root),
                    "(directory)",
                    "not inside a git repository",
                    "run `ilag diff` from a clone of the project",
                )
            ]
        )
    return Path(proc.stdout.strip())


def resolve(root: Path, ref: str | None, option: str) -> Revision:
    """A ref as a commit; None or WORKTREE means the working tree. Unknown refs are bad input."""
    if ref is None or ref == WORKTREE:
        return Revision("working tree", None)
    proc = git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        fix = "name a branch, tag or commit that exists here"
        if ref.startswith("origin/"):
            fix += " (in CI, check out with full history: fetch-depth: 0)"
        elif "~" in ref or "^" in ref:
            fix += " (a shallow clone may lack the parent; fetch more history)"
        raise InputError([Problem("command line", option, f"unknown git ref {ref!r}", fix)])
    return Revision(ref, proc.stdout.strip())


def changed_files(root: Path, base: Revision, head: Revision) -> list[str]:
    """Paths that differ between base and head; the working tree includes untracked files."""
    if base.sha is None:
        raise InputError(
            [Problem("command line", "--base", "the base must be a commit", "pass --base REF")]
        )
    if head.sha is not None:
        out = git(root, "diff", "--name-only", "--no-renames", "-z", base.sha, head.sha).stdout
        return sorted({p for p in out.split("\0") if p})
    tracked = git(root, "diff", "--name-only", "--no-renames", "-z", base.sha).stdout
    untracked = git(root, "ls-files", "--others", "--exclude-standard", "-z").stdout
    return sorted({p for p in (tracked + "\0" + untracked).split("\0") if p})


def read_file(root: Path, rev: Revision, path: str) -> str | None:
    """One file's text at a revision, or None if it does not exist there."""
    if rev.sha is None:
        full = root / path
        return full.read_text(encoding="utf-8") if full.is_file() else None
    proc = git(root, "show", f"{rev.sha}:{path}", check=False)
    return proc.stdout if proc.returncode == 0 else None


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """CI cancels with SIGTERM; turn it into KeyboardInterrupt so cleanup still runs."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def checkout(root: Path, rev: Revision) -> Iterator[Path]:
    """The revision's tree as a directory: the checkout itself for the working tree, else a
    detached worktree in a temporary directory outside the repo, removed on every exit path."""
    if rev.sha is None:
        yield root
        return
    holder = Path(tempfile.mkdtemp(prefix="ilag-diff-"))
    path = holder / "tree"
    with _sigterm_as_interrupt():
        try:
            git(root, "worktree", "add", "--detach", "--quiet", str(path), rev.sha)
            yield path
        finally:
            git(root, "worktree", "remove", "--force", str(path), check=False)
            shutil.rmtree(holder, ignore_errors=True)
            git(root, "worktree", "prune", check=False)
