"""When the lab raises the machine's inotify limits, and how it sets them back."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import pytest

from ilag_infra.lab import inotify

DEBIAN = {"max_user_instances": 128, "max_user_watches": 192536}


def test_ten_hosts_fit_debian_defaults() -> None:
    assert inotify.decide(10, DEBIAN, {"max_user_instances": 10, "max_user_watches": 900}) == []


def test_fifty_hosts_raise_instances_only() -> None:
    raises = inotify.decide(50, DEBIAN, {"max_user_instances": 10, "max_user_watches": 900})
    assert [(r.name, r.current) for r in raises] == [("max_user_instances", 128)]
    (r,) = raises
    assert r.new >= inotify.needed("max_user_instances", 50, 10)
    assert r.new & (r.new - 1) == 0, "a power of two"


def test_what_root_already_holds_counts() -> None:
    busy = {"max_user_instances": 100, "max_user_watches": 0}
    assert [r.name for r in inotify.decide(2, DEBIAN, busy)] == ["max_user_instances"]


def test_watches_are_raised_when_they_are_short() -> None:
    small = {"max_user_instances": 8192, "max_user_watches": 8192}
    raises = inotify.decide(50, small, {})
    assert [r.name for r in raises] == ["max_user_watches"]
    assert raises[0].new >= 50 * inotify.PER_HOST["max_user_watches"]


def test_restore_sets_back_only_what_the_lab_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "max_user_instances").write_text("1024\n")
    (tmp_path / "max_user_watches").write_text("500000\n")
    monkeypatch.setattr(inotify, "SYSCTL_DIR", tmp_path)
    original = {"max_user_instances": 128, "max_user_watches": 192536}
    # Someone else changed the watches after the lab raised them to 262144: theirs now.
    lines = inotify.restore(original, {"max_user_instances": 1024, "max_user_watches": 262144})
    assert (tmp_path / "max_user_instances").read_text() == "128\n"
    assert (tmp_path / "max_user_watches").read_text() == "500000\n"
    assert "set back to 128" in lines[0] and "left as it is" in lines[1]


@pytest.mark.skipif(os.geteuid() != 0, reason="counts what uid 0 holds")
def test_root_usage_counts_an_inotify_instance_and_its_watch() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    before = inotify.root_usage()
    fd = libc.inotify_init()
    assert fd >= 0
    try:
        assert libc.inotify_add_watch(fd, b"/", 0x00000100) >= 0  # IN_CREATE
        after = inotify.root_usage()
    finally:
        os.close(fd)
    assert after["max_user_instances"] == before["max_user_instances"] + 1
    assert after["max_user_watches"] == before["max_user_watches"] + 1
