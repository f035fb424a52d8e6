"""The baseline role's Python filters: what the kernel still needs, which paths get which mode."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

PLUGIN = Path(__file__).resolve().parents[1] / "roles/baseline/filter_plugins/ilag_baseline.py"


def _plugin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ilag_baseline", PLUGIN)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sysctl_plan_sets_only_writable_keys_that_differ() -> None:
    lines = [
        "net.ipv4.ip_forward rw 1",
        "net.ipv4.tcp_syncookies rw 1",
        "kernel.sysrq ro 438",
        "kernel.randomize_va_space ro 2",
        "net.ipv6.conf.all.accept_ra absent -",
    ]
    wanted = {
        "net.ipv4.ip_forward": 0,
        "net.ipv4.tcp_syncookies": 1,
        "kernel.sysrq": 0,
        "kernel.randomize_va_space": 2,
        "net.ipv6.conf.all.accept_ra": 0,
    }
    plan = _plugin().ilag_sysctl_plan(lines, wanted)
    assert plan == {"to_set": ["net.ipv4.ip_forward=0"], "read_only": ["kernel.sysrq"]}


def test_sysctl_plan_compares_multi_value_keys_by_words() -> None:
    plan = _plugin().ilag_sysctl_plan(
        ["net.ipv4.ip_local_port_range rw 32768 60999"],
        {"net.ipv4.ip_local_port_range": "32768\t60999"},
    )
    assert plan == {"to_set": [], "read_only": []}


def test_permission_items_take_rights_away_and_respect_the_switches() -> None:
    found = [
        {"path": "/etc/cron.d", "isdir": True, "isreg": False},
        {"path": "/etc/crontab", "isdir": False, "isreg": True},
        {"path": "/etc/cron.daily", "isdir": True, "isreg": False},
        {"path": "/etc/hostname", "isdir": False, "isreg": True},
        {"path": "/home/ilagadm", "isdir": True, "isreg": False},
        {"path": "/etc/shadow", "isdir": False, "isreg": True},
        {"path": "/etc/passwd", "isdir": False, "isreg": True},
    ]
    items = _plugin().ilag_permission_items(found, True, True, True)
    by_path = {i["path"]: i for i in items}
    assert set(by_path) == {
        "/etc/cron.d",
        "/etc/crontab",
        "/etc/cron.daily",
        "/home/ilagadm",
        "/etc/shadow",
        "/etc/passwd",
        "/root",
    }
    assert by_path["/etc/cron.d"]["mode"] == "go-rwx" and by_path["/etc/cron.d"]["owner"] == "root"
    assert by_path["/home/ilagadm"] == {"path": "/home/ilagadm", "mode": "g-w,o-rwx"}
    assert by_path["/etc/shadow"]["group"] == "shadow"
    only_cron = _plugin().ilag_permission_items(found, True, False, False)
    assert {i["path"] for i in only_cron} == {"/etc/cron.d", "/etc/crontab", "/etc/cron.daily"}


def test_sshd_overridden_names_each_keyword_that_is_not_the_drop_ins() -> None:
    f = _plugin().ilag_sshd_overridden
    wanted = {"permitrootlogin": "prohibit-password", "maxauthtries": 3, "x11forwarding": "no"}
    ok = ["permitrootlogin without-password", "maxauthtries 3", "x11forwarding no"]
    assert f(ok, wanted) == []
    undone = ["permitrootlogin yes", "maxauthtries 3"]
    assert f(undone, wanted) == [
        "permitrootlogin is yes, want prohibit-password",
        "x11forwarding is unset, want no",
    ]
    # The extra options are written first, so they are what sshd should show.
    assert (
        f(
            ["permitrootlogin without-password", "maxauthtries 5", "x11forwarding no"],
            wanted,
            {"MaxAuthTries": 5},
        )
        == []
    )
