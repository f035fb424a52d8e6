"""Backup lifecycle on the lab's real hosts: see the snapshots, restore with metadata, refuse
another municipality's repository, prune centrally by the keep rules, prune beside a backup.

Only Andøy and Bø are converged (two municipalities are enough for the cross checks).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from ilag_infra import lab as lab_mod
from ilag_infra.cli.app import main
from ilag_infra.lab.azurite import DIRECT
from ilag_infra.model.retention import Retention
from ilag_infra.onsite import operator, prune, snapshots, ssh
from ilag_infra.onsite.hostlist import SshHost

from .. import restic_keep
from .conftest import Lab

pytestmark = pytest.mark.lab
SLUGS = ["andoy", "bo"]
FS = "andoy-fil01"
PROBE = "/srv/æøå-prosjekt"

# A tree with every kind of metadata the restore must keep. ACL and xattr are set through
# python3 (the base has no acl/attr tools): a POSIX ACL is the system.posix_acl_access xattr.
MAKE_PROBE = r"""
import os, struct
root = "/srv/æøå-prosjekt"
os.makedirs(root + "/undermappe", exist_ok=True)
with open(root + "/rapport.txt", "w") as f:
    f.write("Vesterålen budsjett\n" * 200)
with open(root + "/undermappe/data.bin", "wb") as f:
    f.write(os.urandom(300000))
open(root + "/tom.txt", "w").close()
os.chown(root + "/rapport.txt", 1234, 5678)
os.chmod(root + "/rapport.txt", 0o640)
os.chmod(root + "/undermappe/data.bin", 0o600)
os.link(root + "/rapport.txt", root + "/rapport-lenke.txt")
os.symlink("undermappe/data.bin", root + "/snarvei")
os.symlink("finnes-ikke", root + "/brutt")
os.mkfifo(root + "/kø")
os.setxattr(root + "/rapport.txt", "user.ilag.merke", b"hemmelig")
acl = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i) for t, p, i in [
    (0x01, 6, 0xFFFFFFFF), (0x02, 4, 65534), (0x04, 4, 0xFFFFFFFF),
    (0x10, 4, 0xFFFFFFFF), (0x20, 0, 0xFFFFFFFF)])
os.setxattr(root + "/undermappe/data.bin", "system.posix_acl_access", acl)
os.utime(root + "/rapport.txt", (946684800, 946684800))
os.utime(root + "/snarvei", (946684800, 946684800), follow_symlinks=False)
"""

# Everything a person would compare, path relative to the given root, one JSON line each.
MANIFEST = r"""
import hashlib, json, os, stat, sys
root = sys.argv[1]
out = []
for base, dirs, files in os.walk(root):
    for name in sorted(dirs) + sorted(files):
        p = os.path.join(base, name)
        st = os.lstat(p)
        item = {"path": os.path.relpath(p, root), "mode": oct(st.st_mode), "uid": st.st_uid,
                "gid": st.st_gid, "mtime_ns": st.st_mtime_ns, "nlink": st.st_nlink,
                "xattrs": {k: os.getxattr(p, k, follow_symlinks=False).hex()
                           for k in sorted(os.listxattr(p, follow_symlinks=False))}}
        if stat.S_ISLNK(st.st_mode):
            item["target"] = os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            item["sha256"] = hashlib.sha256(open(p, "rb").read()).hexdigest()
            item["size"] = st.st_size
        out.append(item)
print(json.dumps(sorted(out, key=lambda i: i["path"])))
"""


def _host(lab: Lab, name: str) -> Any:
    return next(h for h in lab.hosts() if h.name == name)  # type: ignore[attr-defined]


def on_host(lab: Lab, name: str, command: str, stdin: str | None = None, timeout: float = 300):
    h = _host(lab, name)
    host = SshHost(h.name, h.slug, h.ip, 22, "root", lab_mod.lab_paths().operator_key)
    client = ssh.connect(host, lab.target.known_hosts(h.slug))
    try:
        if stdin is None:
            return ssh.run(client, command, timeout=timeout)
        i, o, e = client.exec_command(command, timeout=timeout)
        i.write(stdin)
        i.channel.shutdown_write()
        out, err = o.read().decode(), e.read().decode()
        return o.channel.recv_exit_status(), out, err
    finally:
        client.close()


def must(lab: Lab, name: str, command: str, stdin: str | None = None, timeout: float = 300) -> str:
    rc, out, err = on_host(lab, name, command, stdin, timeout)
    assert rc == 0, f"{name}: {command!r} exited {rc}: {err[-800:]}"
    return out


def manifest(lab: Lab, name: str, root: str) -> list[dict[str, Any]]:
    return json.loads(must(lab, name, f"python3 - '{root}'", stdin=MANIFEST))  # type: ignore[no-any-return]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(list(args))
    return rc, capsys.readouterr().out


@pytest.fixture(scope="module")
def ready(lab: Lab) -> Iterator[list[dict[str, Any]]]:
    """Andøy and Bø converged, a probe tree on the file server, and one backup of each host."""
    outcome = lab.apply(SLUGS)
    assert outcome.ok, outcome.problem_hosts
    must(lab, FS, "python3 -", stdin=MAKE_PROBE)
    before = manifest(lab, FS, PROBE)
    assert main(["backup", "run", *SLUGS]) == 0
    yield before


def test_snapshots_and_ls_show_the_backup(
    lab: Lab, ready: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = cli(capsys, "backup", "snapshots", "andoy", "--json")
    assert rc == 0, out
    rows = json.loads(out)
    assert sorted(r["host"] for r in rows) == ["andoy-fil01", "andoy-util01"]
    for r in rows:
        assert r["error"] is None and r["snapshots"], r
        snap = r["snapshots"][-1]
        assert snap["host"] == r["host"] and "ilag" in snap["tags"]
        assert "/etc" in snap["paths"] and snap["size_added"] > 0
    rc, out = cli(capsys, "backup", "ls", FS, PROBE, "--json")
    assert rc == 0, out
    listed = {n["path"]: n for n in json.loads(out)["nodes"]}
    assert listed[f"{PROBE}/rapport.txt"]["uid"] == 1234
    assert listed[f"{PROBE}/kø"]["type"] == "fifo"
    rc, out = cli(capsys, "backup", "snapshots", "andoy", FS)
    assert rc == 0 and FS in out and "andoy-util01" not in out
    rc, out = cli(capsys, "backup", "status", "andoy", "--json")
    assert rc == 0, out
    assert {r["host"]: r["verdict"] for r in json.loads(out)} == {
        "andoy-fil01": "fresh",
        "andoy-util01": "fresh",
    }


def test_escrowed_password_opens_every_repository_and_a_wrong_one_is_named(
    lab: Lab, ready: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    from ilag_infra.lab import lab_paths
    from ilag_infra.onsite import escrow

    rc, out = cli(capsys, "backup", "status", "andoy", "bo", "--json")
    assert rc == 0, out
    rows = json.loads(out)
    assert {r["host"]: r["escrow"] for r in rows} == {
        "andoy-fil01": "ok",
        "andoy-util01": "ok",
        "bo-fil01": "ok",
        "bo-util01": "ok",
    }
    state = lab_paths().state
    kept = escrow.lab_file(state, "bo").read_text()
    try:
        # Bø's escrow replaced by Andøy's password: it opens no Bø repository, and says so.
        escrow.lab_write(state, {"bo": lab.outputs["lab"]["restic_passwords"]["andoy"]})  # type: ignore[index]
        rc, out = cli(capsys, "backup", "status", "andoy", "bo")
        assert rc == 1, out
        assert "escrow andoy: ok" in " ".join(out.split())
        assert "escrow bo: FAIL" in " ".join(out.split())
        escrow.lab_file(state, "bo").unlink()
        rc, out = cli(capsys, "backup", "status", "bo")
        assert rc == 1 and "no escrowed restic password" in " ".join(out.split()), out
        # No password reaches the output, right or wrong.
        assert not [x for x in lab.secrets() if x and x in out]
    finally:
        escrow.lab_write(state, {"bo": kept})
    rc, out = cli(capsys, "backup", "status", "bo")
    assert rc == 0, out


def test_restore_default_target_keeps_every_kind_of_metadata(
    lab: Lab, ready: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    must(lab, FS, f"rm -rf '{PROBE}'")
    rc, out = cli(capsys, "restore", FS, PROBE, "--json")
    assert rc == 0, out
    result = json.loads(out)
    dest = result["destination"]
    assert dest.startswith("/var/lib/ilag-restore/") and result["ok"] and result["restic_verified"]
    s = result["summary"]
    assert s["files"] == 4 and s["symlinks"] == 2 and s["others"] == 1 and s["dirs"] == 2
    assert s["hardlink_groups"] == 1 and s["with_xattrs"] >= 2 and s["differences"] == []
    # Independent of ilag's own check: the restored tree equals the original, xattrs and ACL too.
    assert manifest(lab, FS, dest + PROBE) == ready
    # The live path was not touched; a second restore to the same place is refused.
    rc_live, _, _ = on_host(lab, FS, f"test -e '{PROBE}'")
    assert rc_live != 0
    assert main(["restore", FS, PROBE, "--to", dest]) == 2
    records = list(lab.runs_dir.glob(f"*-restore-{FS}.json"))
    assert records and json.loads(records[-1].read_text())["summary"]["files"] == 4


def test_restore_in_place_asks_keeps_the_old_version_and_verifies(
    lab: Lab, ready: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    must(lab, FS, f"mkdir -p '{PROBE}' && echo ødelagt > '{PROBE}/rapport.txt'")
    # Without --yes and with nobody to answer: nothing changes.
    assert main(["restore", FS, PROBE, "--in-place"]) != 0
    assert must(lab, FS, f"cat '{PROBE}/rapport.txt'") == "ødelagt\n"
    rc, out = cli(capsys, "restore", FS, PROBE, "--in-place", "--yes", "--json")
    assert rc == 0, out
    result = json.loads(out)
    assert result["ok"] and len(result["kept_aside"]) == 1
    assert manifest(lab, FS, PROBE) == ready
    aside = result["kept_aside"][0]
    assert must(lab, FS, f"cat '{aside}/rapport.txt'") == "ødelagt\n"


def test_restore_bad_input_exits_2_and_changes_nothing(
    lab: Lab, ready: list[dict[str, Any]]
) -> None:
    before = must(lab, FS, "ls -A /var/lib/ilag-restore | wc -l")
    assert main(["restore", "andoy-nosuch01", PROBE]) == 2
    assert main(["restore", FS, "/srv/finnes-ikke"]) == 2
    assert main(["restore", FS, PROBE, "--at", "2001-01-01T00:00"]) == 2
    assert main(["restore", FS, "relative/path"]) == 2
    assert must(lab, FS, "ls -A /var/lib/ilag-restore | wc -l") == before


def _site_env_for(lab: Lab, other: str, own_sas: str) -> str:
    """Shell exports that point a host's restic at another municipality's repository, with the
    host's own SAS signature and the other municipality's restic password."""
    names = lab.outputs["backup"]["container_names"]  # type: ignore[index]
    base, query = own_sas.split("?", 1)
    foreign = base.rsplit("/", 1)[0] + "/" + names[other]
    password = lab.outputs["lab"]["restic_passwords"][other]  # type: ignore[index]
    return (
        "export RCLONE_CONFIG=/dev/null RCLONE_CONFIG_X_TYPE=azureblob "
        f"RCLONE_CONFIG_X_SAS_URL='{foreign}?{query}' RESTIC_PASSWORD='{password}' "
        f"RESTIC_REPOSITORY='rclone:x:{names[other]}/{FS}' RESTIC_CACHE_DIR=/tmp/xcache; "
    )


def test_a_municipality_credential_cannot_restore_or_prune_another(
    lab: Lab, ready: list[dict[str, Any]]
) -> None:
    sas = lab.outputs["backup"]["container_sas_urls"]  # type: ignore[index]
    env = _site_env_for(lab, "andoy", sas["bo"])
    # Bø's host, Bø's SAS, even with Andøy's restic password: Azure (Azurite) refuses.
    for cmd in (
        "restic snapshots",
        f"restic restore latest --target /tmp/x --include {PROBE}",
        "restic forget --prune --keep-last 1",
    ):
        rc, out, err = on_host(lab, "bo-fil01", env + cmd)
        assert rc != 0, (cmd, out)
        assert any(m in err for m in ("403", "Authoriz", "Authentic")), err
    # And the blobs themselves: Bø's SAS cannot delete Andøy's repository config.
    base, query = sas["bo"].split("?", 1)
    names = lab.outputs["backup"]["container_names"]  # type: ignore[index]
    url = f"{base.rsplit('/', 1)[0]}/{names['andoy']}/{FS}/config?{query}"
    with pytest.raises(urllib.error.HTTPError) as info:
        DIRECT.open(urllib.request.Request(url, method="DELETE"), timeout=10)
    assert info.value.code == 403
    # Andøy's snapshots are all still there.
    assert main(["backup", "snapshots", "andoy", FS]) == 0


# Small enough to reason about, wide enough that every rule decides something.
PRUNE_RULES = Retention(daily=2, weekly=0, monthly=3, yearly=2)


def test_prune_keeps_what_the_rules_say_and_checks_clean(
    lab: Lab, ready: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    host = "bo-util01"
    # Older snapshots at days counted back from today, so the expectation holds on any date.
    make = " && ".join(
        f"head -c 200000 /dev/urandom > /var/backups/prune-probe.bin && "
        f"restic backup -q --host {host} --time '{t:%Y-%m-%d %H:%M:%S}' "
        "/var/backups/prune-probe.bin"
        for t in restic_keep.fake_times(datetime.now(UTC))
    )
    must(lab, host, "set -a && . /etc/ilag-backup/env && set +a && " + make, timeout=600)
    # One more real backup now, so the newest snapshot is today's.
    assert main(["backup", "run", "bo"]) == 0
    rc, out = cli(capsys, "backup", "snapshots", "bo", host, "--json")
    assert rc == 0, out
    snaps_before = json.loads(out)[0]["snapshots"]
    assert len(snaps_before) >= len(restic_keep.DAYS_BACK) + 2
    # These rules for Bø only; the region's defaults stay wider.
    model = lab.loaded.model
    bo = model.municipality("bo").model_copy(update={"backup_retention": PRUNE_RULES})
    region = model.model_copy(
        update={
            "municipalities": [bo if m.slug == "bo" else m for m in model.municipalities],
            "region": model.region.model_copy(
                update={"backup_retention": Retention(daily=14, weekly=8, monthly=12, yearly=3)}
            ),
        }
    )
    shown = prune.prune(lab.target, region, ["bo"], act=False)
    repo = next(r for r in shown[0].repos if r.name == host)
    # What restic 0.14's rules keep of exactly these snapshot times, worked out independently.
    every = [s.time for s in repo.keep + repo.remove]
    assert len(every) == len(snaps_before)
    expected = sorted(restic_keep.kept(every, PRUNE_RULES))
    kept = sorted(s.time for s in repo.keep)
    assert kept == expected, (kept, expected)
    # Not vacuous: some older snapshots go, and at least one from an earlier year stays.
    assert len(repo.remove) >= len(restic_keep.DAYS_BACK) // 2
    assert any(t.year < max(every).year for t in kept), kept
    # The dry run removed nothing.
    rc, out = cli(capsys, "backup", "snapshots", "bo", host, "--json")
    assert rc == 0, out
    assert len(json.loads(out)[0]["snapshots"]) == len(snaps_before)

    done = prune.prune(lab.target, region, ["bo"], act=True)
    assert done[0].ok, done[0].to_dict()
    repo = next(r for r in done[0].repos if r.name == host)
    assert repo.check_ok and repo.freed is not None and repo.freed > 1_000_000, repo.to_dict()
    rc, out = cli(capsys, "backup", "snapshots", "bo", host, "--json")
    assert rc == 0, out
    after = sorted(snapshots.parse_time(s["time"]) for s in json.loads(out)[0]["snapshots"])
    assert after == kept
    assert list(lab.runs_dir.glob("*-prune-bo.json"))
    # The operator credential stayed on the controller: no host holds it.
    operator_sig = lab.outputs["lab"]["operator_sas_url"].split("sig=")[1].split("&")[0]  # type: ignore[index]
    rc_grep, _, _ = on_host(lab, host, f"grep -rqF '{operator_sig}' /etc /var/lib/ilag-backup")
    assert rc_grep == 1


def test_prune_cli_shows_first_and_refuses_unknown(
    lab: Lab, ready: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = cli(capsys, "backup", "prune", "andoy")
    assert rc == 0 and "would prune" in out and "--yes" in out
    assert main(["backup", "prune", "nowhere"]) == 2


def test_backup_started_during_a_prune_waits_and_nothing_breaks(
    lab: Lab, ready: list[dict[str, Any]]
) -> None:
    host = "andoy-util01"
    env = "set -a && . /etc/ilag-backup/env && set +a && "
    # An old snapshot holding A and B in one pack, then today's without B: forgetting the old
    # one leaves a half-used pack, which the prune must download and repack (slowly, capped).
    must(
        lab,
        host,
        "head -c 3000000 /dev/urandom > /root/a.bin && head -c 3000000 /dev/urandom > /root/b.bin",
    )
    must(lab, host, env + "restic backup -q --time '2026-01-15 10:00:00' /root/a.bin /root/b.bin")
    must(lab, host, "rm /root/b.bin && systemctl start ilag-backup.service", timeout=600)
    model = lab.loaded.model
    andoy = model.municipality("andoy").model_copy(
        update={"backup_retention": Retention(daily=1, weekly=0, monthly=0, yearly=0)}
    )
    region = model.model_copy(
        update={"municipalities": [andoy if m.slug == "andoy" else m for m in model.municipalities]}
    )
    results: dict[str, Any] = {}

    def do_prune() -> None:
        results["prune"] = prune.prune(lab.target, region, ["andoy"], act=True, limit_kib=200)

    container = lab.outputs["backup"]["container_names"]["andoy"]  # type: ignore[index]
    worker = threading.Thread(target=do_prune)
    worker.start()
    # Start the site backup only once the prune's exclusive lock is in the repository.
    with operator.access(lab.target, "andoy") as acc:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            locks = subprocess.run(
                ["rclone", "lsf", f"{acc.remote}:{container}/{host}/locks"],
                env={**os.environ, **acc.env},
                capture_output=True,
                text=True,
                check=False,
            ).stdout.split()
            if locks:
                break
            time.sleep(0.2)
    assert locks, "the prune never took its lock"
    rc, _, err = on_host(lab, host, "systemctl start ilag-backup.service", timeout=900)
    worker.join(timeout=900)
    assert rc == 0, err
    done = results["prune"][0]
    assert done.ok, done.to_dict()
    repo = next(r for r in done.repos if r.name == host)
    assert len(repo.remove) >= 1 and repo.check_ok
    log = must(lab, host, "journalctl -u ilag-backup.service --no-pager -n 100")
    assert "repository is locked" in log, "the backup did not meet the prune's lock"
    status = json.loads(must(lab, host, "cat /var/lib/ilag-backup/status.json"))
    assert status["state"] == "ok"
    must(lab, host, env + "restic check", timeout=600)
    print(
        f"prune removed {len(repo.remove)}, freed {repo.freed} B; backup waited "
        f"{log.count('repository is locked')}x"
    )


def test_verify_only_restores_into_scratch_compares_and_removes_it(
    lab: Lab, ready: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out = cli(capsys, "restore", FS, PROBE, "--verify-only", "--json")
    assert rc == 0, out
    result = json.loads(out)
    assert result["ok"] and result["summary"]["files"] == 4
    assert "/verify-" in result["destination"]
    rc_left, _, _ = on_host(lab, FS, f"test -e '{result['destination']}'")
    assert rc_left != 0


def test_region_drill_loses_bo_and_andoy_at_once_and_verifies_every_file(
    lab: Lab, ready: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    # Two municipalities stand in for --all (the bench drills all five): one moment of
    # destruction, one converge, restores in parallel.
    rc, out = cli(capsys, "drill", "bo", "andoy", "--json")
    assert rc == 0, out
    region = json.loads(out)
    assert region["ok"], region
    assert [m["municipality"] for m in region["municipalities"]] == ["bo", "andoy"]
    by_slug = {m["municipality"]: m for m in region["municipalities"]}
    result = by_slug["bo"]
    assert sorted(h["host"] for h in result["hosts"]) == ["bo-fil01", "bo-util01"]
    hosts = [h for m in region["municipalities"] for h in m["hosts"]]
    for h in hosts:
        # The rebuilt host had a new key: it was refused until re-pinned from the console.
        assert h["refused_unconfirmed_key"] is True
        assert h["differences"] == [] and h["files"] >= 13
        assert 0 <= h["rpo_seconds"] < 3600 and h["rto_seconds"] > 0
    # One disaster for both, and the region's RTO is its last verified host.
    assert {m["disaster_at"] for m in region["municipalities"]} == {region["disaster_at"]}
    assert region["rto_seconds"] == max(h["rto_seconds"] for h in hosts)
    assert region["bytes_lost"] == 0
    assert region["bytes_verified"] == sum(h["bytes"] for h in hosts) > 0
    assert set(region["rpo_seconds"]) == {"bo", "andoy"}
    assert list(result["steps"]) == ["destroy", "rebuild", "re-pin", "converge"]
    # Each municipality's page reads its own record, tagged with the region run.
    record = json.loads(sorted(lab.runs_dir.glob("*-drill-bo.json"))[-1].read_text())
    assert record["rto_seconds"] == result["rto_seconds"]
    assert record["region_municipalities"] == ["bo", "andoy"]
    region_record = sorted((lab.runs_dir / "region-drills").glob("*.json"))[-1]
    assert json.loads(region_record.read_text())["run_id"] == record["region_drill"]
    report = region_record.with_suffix(".md").read_text()
    assert "Region RTO" in report and "| andoy |" in report
    assert "bo-fil01" in sorted(lab.runs_dir.glob("*-drill-bo.md"))[-1].read_text()
    # No record of restore, prune or drill holds a secret: SAS signatures, the operator's SAS,
    # restic passwords.
    secrets = [
        *lab.secrets(),
        lab.outputs["lab"]["operator_sas_url"].split("sig=")[1].split("&")[0],
    ]  # type: ignore[index]
    for f in [*lab.runs_dir.glob("*.json"), region_record]:
        text = f.read_text()
        assert not [x for x in secrets if x and x in text], f
    print(
        f"region drill bo+andoy: RTO {region['rto_seconds']} s, RPO {region['rpo_seconds']}, "
        f"steps {region['steps']}, {region['workers']} restores at once"
    )


def test_revoking_one_site_stops_its_backups_alone_until_the_next_apply(
    lab: Lab, ready: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """Last in this module: it replaces Bø's site credential (the lab's outputs follow)."""
    outputs_file = lab_mod.lab_paths().state / "outputs.json"
    old_sas = json.loads(outputs_file.read_text())["backup"]["container_sas_urls"]
    rc, out = cli(capsys, "backup", "revoke", "bo", "--json")
    assert rc == 0, out
    done = json.loads(out)
    assert done["municipality"] == "bo" and done["new_policy"] != done["revoked_policy"]
    new_sas = json.loads(outputs_file.read_text())["backup"]["container_sas_urls"]
    assert new_sas["bo"] != old_sas["bo"]
    assert {s: u for s, u in new_sas.items() if s != "bo"} == {
        s: u for s, u in old_sas.items() if s != "bo"
    }
    # Bø's servers still hold the revoked SAS: Azure (Azurite) refuses it with 403.
    assert main(["backup", "run", "bo"]) == 1
    _, journal, _ = on_host(lab, "bo-util01", "journalctl -u ilag-backup.service -n 80 --no-pager")
    # restic's own words vary (rclone's 403, or only "context canceled" when rclone's answer
    # is cut short); the run failed, and the request below shows that the cause is a 403.
    assert "state=failed" in journal, journal[-1500:]
    # The same revoked SAS, straight at the blob service: 403.
    base, query = old_sas["bo"].split("?", 1)
    with pytest.raises(urllib.error.HTTPError) as info:
        DIRECT.open(f"{base}?restype=container&comp=list&{query}", timeout=10)
    assert info.value.code == 403
    # Andøy is not touched.
    assert main(["backup", "run", "andoy"]) == 0
    # The next apply of Bø hands its servers the new SAS, and the backup works again.
    outcome = lab.apply(["bo"])
    assert outcome.ok, outcome
    assert main(["backup", "run", "bo"]) == 0
    # Later tests read the current outputs, not the session's first copy.
    lab.outputs.clear()
    lab.outputs.update(json.loads(outputs_file.read_text()))
    # Unknown municipality: bad input, nothing changes.
    assert main(["backup", "revoke", "nowhere"]) == 2
    assert json.loads(outputs_file.read_text())["backup"]["container_sas_urls"] == new_sas
