"""Check an onboarding plan's files with `ilag validate` in a staging copy, then write them.

The staging copy holds the new texts beside copies of everything validate reads that the plan
changes (region.yaml, systems.yaml, inventories/, stacks/); the rest of the repository is
linked in. Only when validate passes there are the files written, each beside its target
first and then renamed; a failure while renaming puts back what was already renamed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ilag_infra.model import inventory, validate
from ilag_infra.model.errors import IlagError, InputError, Problem
from ilag_infra.model.onboard import OnboardPlan
from ilag_infra.model.onboard_spec import CLI

TMP_SUFFIX = ".onboard-tmp"
# Copied into the staging tree because the plan writes there, or validate reads them next to
# what it writes; everything else at the top of the repository is linked.
_COPIED = ("region.yaml", "systems.yaml", "inventories", "stacks")
_HOST_KEY = re.compile(r"\.hosts\.([^.]+)")


@contextlib.contextmanager
def staged(root: Path, texts: dict[str, str]) -> Iterator[Path]:
    """A temporary tree that is the repository with texts written in."""
    with tempfile.TemporaryDirectory(prefix="ilag-onboard-") as tmp:
        stage = Path(tmp) / "repo"
        stage.mkdir()
        for entry in root.iterdir():
            if entry.name in _COPIED:
                if entry.is_dir():
                    shutil.copytree(entry, stage / entry.name, symlinks=True)
                else:
                    shutil.copy2(entry, stage / entry.name)
            else:
                (stage / entry.name).symlink_to(entry.resolve())
        for rel, text in texts.items():
            # Never write through a link into the repository: a linked entry becomes a copy.
            top = stage / Path(rel).parts[0]
            if top.is_symlink():
                real = top.resolve()
                top.unlink()
                if real.is_dir():
                    shutil.copytree(real, top, symlinks=True)
                elif real.exists():
                    shutil.copy2(real, top)
            path = stage / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink():
                path.unlink()
            path.write_text(text, encoding="utf-8")
        yield stage


def _as_repo(problem: Problem, stage: Path, plan: OnboardPlan) -> Problem:
    """A problem found in the staging copy, named by the repository path, or by --host when
    it is about the hosts the command line gave."""
    file = problem.file
    with contextlib.suppress(ValueError):
        file = str(Path(file).resolve().relative_to(stage.resolve()))
    # Paths into the staging copy mean the repository's own.
    message, fix = (t.replace(f"{stage}/", "") for t in (problem.message, problem.fix))
    new_inventory = str(Path(inventory.INVENTORY_DIR) / plan.slug / inventory.HOSTS_FILE)
    if file == new_inventory:
        host = _HOST_KEY.search(problem.key)
        return Problem(CLI, f"--host {host.group(1)}" if host else "--host", message, fix)
    return Problem(file, problem.key, message, fix, problem.line)


def check(plan: OnboardPlan, root: Path, region_rel: str) -> validate.ValidationReport:
    """`ilag validate` of the repository as it would be after the plan; InputError naming the
    repository's files (or the command-line option) when it fails."""
    with staged(root, plan.texts) as stage:
        try:
            return validate.validate(stage / region_rel, None, stacks_root=stage)
        except InputError as exc:
            raise InputError([_as_repo(p, stage, plan) for p in exc.problems]) from None


def _tmp(path: Path) -> Path:
    return path.with_name(path.name + TMP_SUFFIX)


def write(plan: OnboardPlan, root: Path) -> list[str]:
    """Write the plan's files under root, all or none; returns what was done, in order."""
    targets = [root / rel for rel in plan.texts]
    new_dirs = sorted(
        {p.parent for p in targets if not p.parent.exists()}, key=lambda d: len(d.parts)
    )
    old: dict[Path, str] = {}  # what an edited file held, to put back
    made: list[Path] = []
    written: list[Path] = []  # only what this run wrote is removed again
    try:
        old = {p: p.read_text(encoding="utf-8") for p in targets if p.exists()}
        for d in new_dirs:
            d.mkdir(parents=True)
            made.append(d)
        for path in targets:
            tmp = _tmp(path)
            if tmp.exists():
                raise FileExistsError(17, "exists already (a leftover? remove it)", str(tmp))
            tmp.write_text(plan.texts[str(path.relative_to(root))], encoding="utf-8")
            written.append(tmp)
            if path in old:
                shutil.copymode(path, tmp)
    except OSError as exc:
        _clean(written, made)
        raise IlagError(
            f"could not write {exc.filename}: {exc.strerror}; nothing was changed"
        ) from None
    # region.yaml is renamed last: until then the repository does not name the municipality.
    region = root / plan.files[0].path  # the plan names region.yaml first
    order = sorted(targets, key=lambda p: p == region)
    done: list[Path] = []
    try:
        for path in order:
            os.replace(_tmp(path), path)
            done.append(path)
    except OSError as exc:
        for path in done:
            if path in old:
                path.write_text(old[path], encoding="utf-8")
            else:
                path.unlink(missing_ok=True)
        _clean([_tmp(p) for p in order if p not in done], made)
        raise IlagError(
            f"could not rename into {exc.filename}: {exc.strerror}; the files were put back"
        ) from None
    return [
        f"{'edited' if p in old else 'created'} {p.relative_to(root)}"
        for p in sorted(targets, key=lambda p: str(p.relative_to(root)))
    ]


def _clean(tmps: list[Path], made: list[Path]) -> None:
    for tmp in tmps:
        tmp.unlink(missing_ok=True)
    for d in reversed(made):
        with contextlib.suppress(OSError):
            d.rmdir()
