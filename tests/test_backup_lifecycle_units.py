"""Backup lifecycle without a lab: restic output parsing, snapshot choice, restore comparison,
keep-rule resolution and the status verdict."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ilag_infra.model import region
from ilag_infra.model.errors import InputError
from ilag_infra.model.retention import Retention, resolve
from ilag_infra.onsite import prune, restic, restore, snapshots, verify
from ilag_infra.onsite.backup import BackupStatus, interpret
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.onsite.snapshots import Node
from ilag_infra.onsite.treewalk import Entry

REPO = Path(__file__).resolve().parents[1]
HOST = SshHost("andoy-fil01", "andoy", "10.250.5.11", 22, "root", None)

# As restic 0.14 prints them (`snapshots --json`, `ls --json`), shortened ids.
SNAPSHOTS_JSON = json.dumps(
    [
        {
            "time": "2026-11-02T01:30:00.123456789Z",
            "paths": ["/etc", "/srv"],
            "hostname": "andoy-fil01",
            "tags": ["ilag"],
            "id": "bbbb2222" + "0" * 56,
            "short_id": "bbbb2222",
        },
        {
            "time": "2026-11-01T01:30:00Z",
            "paths": ["/etc"],
            "hostname": "andoy-fil01",
            "id": "aaaa1111" + "0" * 56,
            "short_id": "aaaa1111",
        },
    ]
)
HISTORY = '{"snapshot_id": "bbbb2222", "data_added": 4096}\nnot json\n'


def snaps() -> list[snapshots.Snapshot]:
    added = snapshots.parse_added(HISTORY, '{"last_snapshot_id": "aaaa1111", "last_data_added": 7}')
    return snapshots.parse_snapshots(restic.json_lines(SNAPSHOTS_JSON), added)


def test_snapshots_parse_oldest_first_with_size_added_and_tags() -> None:
    s = snaps()
    assert [x.short_id for x in s] == ["aaaa1111", "bbbb2222"]
    assert s[1].size_added == 4096 and s[0].size_added == 7
    assert s[1].tags == ["ilag"] and s[0].tags == [] and s[1].paths == ["/etc", "/srv"]
    assert s[1].time == datetime(2026, 11, 2, 1, 30, 0, 123456, tzinfo=UTC)
    assert json.loads(json.dumps(s[1].to_dict()))["time"].startswith("2026-11-02T01:30:00")


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (None, "bbbb2222"),
        ("latest", "bbbb2222"),
        ("aaaa1111", "aaaa1111"),
        ("2026-11-01T12:00", "aaaa1111"),
        ("2026-11-02T01:30:01Z", "bbbb2222"),
        ("2026-12-24", "bbbb2222"),
    ],
)
def test_pick_by_id_time_or_latest(at: str | None, expected: str) -> None:
    assert snapshots.pick(snaps(), at, "andoy-fil01").short_id == expected


@pytest.mark.parametrize("at", ["2026-10-31T23:59", "tomorrow", "cccc3333"])
def test_pick_refuses_a_time_before_the_first_or_nonsense(at: str) -> None:
    with pytest.raises(InputError) as info:
        snapshots.pick(snaps(), at, "andoy-fil01")
    assert "--at" in str(info.value) and info.value.exit_code == 2


def test_pick_without_snapshots_is_bad_input() -> None:
    with pytest.raises(InputError, match="no snapshots"):
        snapshots.pick([], None, "andoy-fil01")


LS_LINES = "\n".join(
    [
        json.dumps({"time": "2026-11-02T01:30:00Z", "id": "x", "struct_type": "snapshot"}),
        json.dumps(
            {
                "name": "d",
                "type": "dir",
                "path": "/srv/d",
                "uid": 0,
                "gid": 0,
                "mode": 2147484141,
                "permissions": "drwxr-xr-x",
                "mtime": "2026-11-01T10:00:00.000001Z",
                "struct_type": "node",
            }
        ),
        json.dumps(
            {
                "name": "a",
                "type": "file",
                "path": "/srv/d/a",
                "uid": 1234,
                "gid": 5678,
                "size": 3,
                "mode": 0o640 | (1 << 22),  # setgid in Go's FileMode bits
                "permissions": "-rw-r-----",
                "mtime": "2001-01-01T00:00:00Z",
                "struct_type": "node",
            }
        ),
    ]
)


def entry(path: str, type_: str, **kw: object) -> Entry:
    return Entry.from_dict({"path": path, "type": type_, **kw})


def test_compare_accepts_an_identical_restore_and_counts_it() -> None:
    nodes = snapshots.parse_nodes(restic.json_lines(LS_LINES))
    assert [n.path for n in nodes] == ["/srv/d", "/srv/d/a"]
    assert verify.unix_mode(nodes[1].mode) == 0o2640
    got = [
        entry("/r/srv/d", "dir", mode=0o755, mtime_ns=1793527200000001000),
        entry(
            "/r/srv/d/a", "file", mode=0o2640, uid=1234, gid=5678, size=3,
            mtime_ns=978307200000000000, xattrs=["user.x"],
        ),
    ]  # fmt: skip
    s = verify.compare(nodes, got, "/r")
    assert s.ok and s.files == 1 and s.dirs == 1 and s.bytes == 3 and s.with_xattrs == 1


def test_compare_names_what_differs_and_what_is_extra() -> None:
    nodes = snapshots.parse_nodes(restic.json_lines(LS_LINES))
    got = [
        entry("/srv/d", "dir", mode=0o700, mtime_ns=1793527200000001000),
        entry("/srv/d/b", "file", size=1),
    ]
    s = verify.compare(nodes, got)
    assert not s.ok
    assert "/srv/d: mode 0700, snapshot has 0755" in s.differences
    assert "/srv/d/a: missing" in s.differences
    assert s.extra == ["/srv/d/b"]


def test_hard_links_are_counted_as_groups() -> None:
    nodes = [
        Node(p, "file", 1, "-rw-r--r--", 0o644, 0, 0, datetime(2001, 1, 1, tzinfo=UTC))
        for p in ("/a", "/b")
    ]
    ns = 978307200 * 10**9
    got = [entry(p, "file", mode=0o644, size=1, mtime_ns=ns, ino=7, nlink=2) for p in ("/a", "/b")]
    assert verify.compare(nodes, got).hardlink_groups == 1


def test_restore_paths_must_be_absolute_and_not_root() -> None:
    assert restore.normalise(["/srv/x/", "/home//y"]) == ["/srv/x", "/home/y"]
    for bad in (["relative"], ["/"], []):
        with pytest.raises(InputError):
            restore.normalise(bad)


def test_include_patterns_escape_glob_characters() -> None:
    assert restore.include_pattern("/srv/æøå [2024]*?") == "/srv/æøå \\[2024]\\*\\?"


def test_default_destination_is_dated_and_outside_backed_up_paths() -> None:
    dest = restore.default_destination(snaps()[1], datetime(2026, 11, 30, 14, 0, tzinfo=UTC))
    assert dest == "/var/lib/ilag-restore/20261130T140000Z-bbbb2222"


def test_region_defaults_and_municipality_overrides() -> None:
    loaded = region.load(REPO / "region.yaml")
    default = loaded.model.region.backup_retention
    assert default == Retention(daily=14, weekly=8, monthly=12, yearly=3)
    rules = prune.rules_for(loaded.model, loaded.model.slugs)
    assert all(r == default for r in rules.values())
    mine = resolve(default, Retention(monthly=24, weekly=0))
    assert mine is not None
    assert mine.forget_args() == ["--keep-daily=14", "--keep-monthly=24", "--keep-yearly=3"]
    assert resolve(None, None) is None


def test_a_municipality_without_keep_rules_is_bad_input() -> None:
    model = region.load(REPO / "region.yaml").model
    bare = model.model_copy(
        update={
            "region": model.region.model_copy(update={"backup_retention": None}),
            "municipalities": [
                m.model_copy(update={"backup_retention": Retention(daily=0)})
                if m.slug == "bo"
                else m
                for m in model.municipalities
            ],
        }
    )
    with pytest.raises(InputError) as info:
        prune.rules_for(bare, ["andoy", "bo"])
    assert len(info.value.problems) == 2 and "no keep rules" in str(info.value)


def test_unknown_keep_rule_in_region_yaml_is_named(tmp_path: Path) -> None:
    text = (REPO / "region.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "region.yaml"
    bad.write_text(text.replace("    daily: 14\n", "    dayly: 14\n"), encoding="utf-8")
    with pytest.raises(InputError) as info:
        region.load(bad)
    assert "backup_retention.dayly" in str(info.value)


def test_parse_forget_reads_keep_and_remove() -> None:
    group = {
        "host": "bo-util01",
        "keep": [{"time": "2026-11-30T01:00:00Z", "id": "a" * 64, "short_id": "aaaaaaaa"}],
        "remove": [
            {"time": "2026-11-01T01:00:00Z", "id": "b" * 64, "short_id": "bbbbbbbb"},
            {"time": "2026-10-01T01:00:00Z", "id": "c" * 64, "short_id": "cccccccc"},
        ],
    }
    keep, remove = prune.parse_forget("loading indexes...\n" + json.dumps([group]) + "\ndone\n")
    assert [s.short_id for s in keep] == ["aaaaaaaa"]
    assert [s.short_id for s in remove] == ["cccccccc", "bbbbbbbb"]


def test_restic_command_reads_the_host_env_and_quotes_paths() -> None:
    line = restic.command(["ls", "--json", "latest", "/srv/æøå mappe"])
    assert line.startswith("set -a && . /etc/ilag-backup/env && set +a && exec restic ")
    assert "'/srv/æøå mappe'" in line
    assert restic.redact("no secret") == "no secret"
    assert "abc" not in restic.redact("https://x/c?sv=1&sig=abc&se=2")


def test_a_failed_run_keeps_the_earlier_success_and_is_called_failed() -> None:
    earlier = (datetime.now(UTC) - timedelta(minutes=5)).isoformat(timespec="seconds")
    status = interpret(HOST, {"state": "failed", "last_success": earlier}, timedelta(hours=26))
    assert status.last_success is not None and status.verdict == "failed"
    assert status.to_dict()["last_success"] == earlier
    assert BackupStatus(HOST, "never-run").verdict == "stale"
