"""Which cgroup hierarchies a lab host gets its own group in."""

from __future__ import annotations

from pathlib import Path

from ilag_infra.lab import cgroups

HYBRID = """\
tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,size=4096k,mode=755 0 0
cgroup /sys/fs/cgroup/memory cgroup ro,nosuid,nodev,noexec,relatime,memory 0 0
cgroup /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,nosuid,nodev,noexec,relatime,name=systemd 0 0
"""
UNIFIED = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n"


def test_hybrid_layout_uses_the_writable_systemd_and_unified_hierarchies() -> None:
    assert cgroups.hierarchies(HYBRID) == [
        Path("/sys/fs/cgroup/unified"),
        Path("/sys/fs/cgroup/systemd"),
    ]


def test_unified_layout_uses_the_one_hierarchy() -> None:
    assert cgroups.hierarchies(UNIFIED) == [Path("/sys/fs/cgroup")]


def test_read_only_and_other_controllers_are_left_alone() -> None:
    assert cgroups.hierarchies("cgroup /sys/fs/cgroup/pids cgroup rw,pids 0 0\n") == []
    assert cgroups.hierarchies("cgroup2 /x cgroup2 ro 0 0\n") == []


def test_wrap_moves_itself_then_execs_the_command(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cgroups, "hierarchies", lambda: [tmp_path / "systemd"])
    argv = cgroups.wrap(["systemd-nspawn", "--boot"], "andoy-fil01")
    assert argv[:2] == ["/bin/sh", "-c"]
    assert str(tmp_path / "systemd" / "ilag-lab" / "andoy-fil01" / "cgroup.procs") in argv[2]
    assert argv[2].endswith('exec "$@"') and argv[-2:] == ["systemd-nspawn", "--boot"]
    assert (tmp_path / "systemd" / "ilag-lab" / "andoy-fil01").is_dir()
