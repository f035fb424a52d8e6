"""Mirror discovery, base staleness and mount-table parsing."""

from __future__ import annotations

import json
from pathlib import Path

from ilag_infra.lab import base, overlay, proc
from ilag_infra.lab.paths import LabPaths

DEB822 = """\
Types: deb
# a comment line
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_mirror_from_deb822_picks_the_release_suite() -> None:
    assert base.mirror_from_deb822(DEB822) == "http://mirror.example/debian"


def test_mirror_from_deb822_skips_disabled_and_source_stanzas() -> None:
    text = (
        "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n"
        "Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://on.example/debian\nSuites: bookworm\n"
    )
    assert base.mirror_from_deb822(text) == "http://on.example/debian"


def test_mirror_from_one_line_sources() -> None:
    text = (
        "# deb http://old.example/debian bookworm main\n"
        "deb [signed-by=/k.gpg] http://m.example/debian bookworm main\n"
    )
    assert base.mirror_from_list(text) == "http://m.example/debian"
    assert base.mirror_from_list("deb http://m.example/debian bullseye main\n") is None


def test_base_is_stale_when_the_package_list_changes(tmp_path: Path) -> None:
    paths = LabPaths(state=tmp_path / "state", cache=tmp_path / "cache")
    (paths.base_root / "usr/lib/systemd").mkdir(parents=True)
    (paths.base_root / "usr/lib/systemd/systemd").write_text("")
    paths.base_stamp.write_text(json.dumps(base.wanted_stamp()))
    assert base.base_is_current(paths)
    assert not base.base_is_current(paths, (*base.PACKAGES, "vim"))
    paths.base_stamp.write_text("{broken")
    assert not base.base_is_current(paths)


def test_every_role_package_is_pre_seeded() -> None:
    for pkg in ("systemd", "openssh-server", "python3", "chrony", "nftables", "restic", "rclone"):
        assert pkg in base.PACKAGES


MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 253:0 / / rw,relatime - ext4 /dev/vda rw
300 27 0:50 / /var/lib/ilag-lab/hosts/a-fil01/root rw - overlay overlay rw,lowerdir=/b
301 27 0:51 / /var/lib/ilag-lab/hosts/with\\040space/root rw - overlay overlay rw
302 300 0:52 / /var/lib/ilag-lab/hosts/a-fil01/root/proc rw - proc proc rw
"""


def test_mounts_under_deepest_first_and_unescaped() -> None:
    found = overlay.mounts_under(Path("/var/lib/ilag-lab"), MOUNTINFO)
    assert found == [
        Path("/var/lib/ilag-lab/hosts/a-fil01/root/proc"),
        Path("/var/lib/ilag-lab/hosts/with space/root"),
        Path("/var/lib/ilag-lab/hosts/a-fil01/root"),
    ]
    assert overlay.mounts_under(Path("/var/lib/ilag"), MOUNTINFO) == []


def test_overlay_upper_of_a_container_root() -> None:
    container = (
        "698 669 0:127 / / rw,relatime shared:191 - overlay overlay rw,lowerdir=/var/cache/"
        "ilag-lab/base,upperdir=/var/lib/ilag-lab/hosts/andoy-fil01/upper,workdir=/w,uuid=on\n"
        "699 698 0:22 / /proc rw - proc proc rw\n"
    )
    assert proc.parse_root_upper(container) == Path("/var/lib/ilag-lab/hosts/andoy-fil01/upper")
    assert proc.parse_root_upper(MOUNTINFO) is None
