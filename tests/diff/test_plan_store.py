"""Revisions' plans kept between `ilag diff` runs: read back as planned, never a secret."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ilag_infra.diff import git as diffgit
from ilag_infra.diff import plan_store
from ilag_infra.diff import run as diff_mod
from ilag_infra.diff.render import render
from tests.diff.conftest import CIPHER_BASE, CIPHER_HEAD, CIPHER_NEW, FixtureRepo


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ILAG_PLAN_CACHE", str(tmp_path / "plans"))
    monkeypatch.setattr(diff_mod, "_fingerprint_key", None)
    return tmp_path / "revisions"


def _text(report: diff_mod.DiffReport) -> str:
    return re.sub(r"\d+\.\d+ s\b", "X s", render(report, "text"))


def _json(report: diff_mod.DiffReport) -> str:
    return re.sub(r'"seconds": [0-9.]+', "", render(report, "json"))


def _stored(store: Path) -> list[Path]:
    return sorted(store.glob("*.json"))


def _store_key(root: Path, ref: str) -> str:
    inputs = diff_mod.plan_inputs_key(root, diffgit.resolve(root, ref, "--base"))
    assert inputs is not None
    return plan_store.key(inputs, diff_mod.fingerprint_key())


def test_a_stored_revision_is_read_back(
    fixture_repo: FixtureRepo, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, base, head = fixture_repo.root, fixture_repo.base, fixture_repo.cases["prefix"]
    monkeypatch.setenv("ILAG_PLAN_CACHE", "off")
    fresh = diff_mod.run_diff(root, base, head)
    assert not store.exists()
    monkeypatch.setenv("ILAG_PLAN_CACHE", str(store.parent / "plans"))
    monkeypatch.setattr(diff_mod, "_fingerprint_key", None)
    first = diff_mod.run_diff(root, base, head)
    assert len(_stored(store)) == 2
    again = diff_mod.run_diff(root, base, head)
    assert len(_stored(store)) == 2
    assert _text(again) == _text(first) == _text(fresh)
    assert _json(again) == _json(fresh)
    # What the store holds is what the next run uses: the base planned once more is not.
    path = store / f"{_store_key(root, base)}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["plan"] = {**data["plan"], "program": False, "stacks": []}
    path.write_text(json.dumps(data), encoding="utf-8")
    read_back = diff_mod.run_diff(root, base, head)
    assert any("has no Azure program" in note for note in read_back.notes)


def test_a_changed_revision_misses(fixture_repo: FixtureRepo, store: Path) -> None:
    root = fixture_repo.root
    diff_mod.run_diff(root, fixture_repo.base, fixture_repo.cases["nothing"])
    assert len(_stored(store)) == 1  # the same plan inputs at both: one plan
    diff_mod.run_diff(root, fixture_repo.base, fixture_repo.cases["sixth"])
    assert len(_stored(store)) == 2


def test_no_ciphertext_is_stored(fixture_repo: FixtureRepo, store: Path) -> None:
    diff_mod.run_diff(
        fixture_repo.root, fixture_repo.cases["secrets_base"], fixture_repo.cases["secrets"]
    )
    texts = [p.read_text(encoding="utf-8") for p in _stored(store)]
    assert len(texts) == 2
    for cipher in (CIPHER_BASE, CIPHER_HEAD, CIPHER_NEW):
        assert not [t for t in texts if cipher in t or cipher.split(":")[1] in t]
    assert all("[secret:" in t for t in texts)


def test_the_fingerprint_key_is_the_owners_only(store: Path) -> None:
    key = plan_store.fingerprint_key()
    assert key is not None and len(key) == 32
    path = store / "fingerprint.key"
    assert path.stat().st_mode & 0o077 == 0
    assert plan_store.fingerprint_key() == key
    path.chmod(0o640)
    assert plan_store.fingerprint_key() is None


def test_a_stack_reading_another_region_file_is_not_stored(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    stack = tmp_path / "stacks" / "Pulumi.network.yaml"
    stack.write_text("config:\n  ilag:regionFile: region.yaml\n", encoding="utf-8")
    assert diff_mod._region_files_known(tmp_path)
    stack.write_text("config:\n  ilag:regionFile: examples/other.yaml\n", encoding="utf-8")
    assert not diff_mod._region_files_known(tmp_path)
