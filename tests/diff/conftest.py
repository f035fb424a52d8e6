"""A throwaway git repository holding the project, with one commit per review case.

Every case branches off the same base commit, so the base is planned once for the whole
session (the plan cache is keyed by what the plan reads) and each case costs one more plan.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ilag_infra.diff import run as diff_mod

REPO = Path(__file__).resolve().parents[2]

SIXTH_REGION = """
  - slug: vagan
    name: Vågan
    kommunenummer: "1865"
    population: 9700
    technician_group_object_id: 00000000-0000-0000-0000-000000001865
    sites:
      - name: svolvaer
        vpn_endpoint: 198.51.100.65
        networks:
          - {name: servers, prefix: 10.65.10.0/24}
          - {name: management, prefix: 10.65.99.0/24, management: true}
"""
SIXTH_INVENTORY = """---
# Vågan kommune (1865): a test municipality.
all:
  children:
    vagan:
      children:
        file_servers:
          hosts:
            vagan-fil01:
              ansible_host: 10.65.10.10
        backup_clients:
          hosts:
            vagan-fil01:
"""
# Stand-ins for ciphertext of `pulumi config set --secret`: must never reach any output.
CIPHER_BASE = "v1:QmFzZUNpcGhlcnRleHQtbmV2ZXItc2hvd24tMTIz"
CIPHER_HEAD = "v1:SGVhZENpcGhlcnRleHQtbmV2ZXItc2hvd24tNDU2"
CIPHER_NEW = "v1:TmV3U2l0ZUNpcGhlcnRleHQtbmV2ZXItc2hvd24tNzg5"
CIPHER_ROTATED = "v1:Um90YXRlZENpcGhlcnRleHQtbmV2ZXItc2hvd24tMA"
PLAIN_PSK = "plain-psk-never-shown-4711"
# Role defaults whose values must never be printed: a *_psk, a *_password, a nested one.
SECRET_DEFAULTS = {
    "baseline__uplink_psk": "psk-default-never-shown-1",
    "baseline__admin_password": "password-default-never-shown-2",
}
NESTED_SECRET = "restic-password-never-shown-3"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class FixtureRepo:
    root: Path
    base: str
    cases: dict[str, str] = field(default_factory=dict)  # case → commit
    cache: diff_mod.PlanCache = field(default_factory=dict)
    reports: dict[str, diff_mod.DiffReport] = field(default_factory=dict)
    changed_default: tuple[str, str, str] = ("", "", "")  # role default: name, old, new

    def edit(self, path: str, change: Callable[[str], str]) -> None:
        file = self.root / path
        file.write_text(change(file.read_text(encoding="utf-8")), encoding="utf-8")

    def write(self, path: str, text: str) -> None:
        file = self.root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")

    def commit(
        self, name: str, make: Callable[[FixtureRepo], None], base: str | None = None
    ) -> str:
        git(self.root, "checkout", "-q", "--detach", base or self.base)
        make(self)
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "--allow-empty", "-m", f"case: {name}")
        sha = git(self.root, "rev-parse", "HEAD")
        self.cases[name] = sha
        git(self.root, "checkout", "-q", "--detach", self.base)
        return sha

    def report(self, name: str, base: str | None = None) -> diff_mod.DiffReport:
        """The diff of a case against its base, computed once per session."""
        if name not in self.reports:
            self.reports[name] = diff_mod.run_diff(
                self.root, base or self.base, self.cases[name], cache=self.cache
            )
        return self.reports[name]


def _sub(
    pattern: str, repl: str | Callable[[re.Match[str]], str], count: int = 1, flags: int = 0
) -> Callable[[str], str]:
    def change(text: str) -> str:
        new, n = re.subn(pattern, repl, text, count=count, flags=flags)
        assert n >= 1, f"fixture edit found nothing to change for {pattern!r}"
        return new

    return change


def _sixth(repo: FixtureRepo) -> None:
    repo.edit("region.yaml", lambda t: t.rstrip("\n") + "\n" + SIXTH_REGION)
    repo.write("inventories/vagan/hosts.yml", SIXTH_INVENTORY)


def _prefix(repo: FixtureRepo) -> None:
    repo.edit("region.yaml", _sub(r"prefix: 10\.67\.32\.0/21", "prefix: 10.67.40.0/21"))


def _rename(repo: FixtureRepo) -> None:
    # The hub VNet gets a new logical name; its Azure name (virtualNetworkName) stays.
    repo.edit(
        "src/ilag_infra/azure/network.py",
        _sub(
            r"network\.VirtualNetwork\(\n(\s+)names\.vnet\(\"hub\"\),",
            'network.VirtualNetwork(\n\\1"hub-vnet",',
        ),
    )


def _role_default(repo: FixtureRepo) -> None:
    # The first numeric default of the baseline role, whichever it is today, doubled.
    path = repo.root / "roles/baseline/defaults/main.yml"
    text = path.read_text(encoding="utf-8")
    found = re.search(r"^(baseline__\w+): (\d+)$", text, re.M)
    assert found, "the baseline role has no numeric default to change"
    name, value = found.group(1), int(found.group(2))
    repo.changed_default = (name, str(value), str(value * 2))
    path.write_text(
        text[: found.start()] + f"{name}: {value * 2}" + text[found.end() :], encoding="utf-8"
    )


def _no_program(repo: FixtureRepo) -> None:
    # An older revision: no Azure program and no diff worker yet (the inline worker runs).
    shutil.rmtree(repo.root / "src" / "ilag_infra" / "azure")
    (repo.root / "src" / "ilag_infra" / "diff" / "worker.py").unlink()


def _nothing(repo: FixtureRepo) -> None:
    return None


def _large(repo: FixtureRepo) -> None:
    # A new environment name renames every Azure resource, and ten more municipalities join:
    # well over GitHub's comment limit before trimming.
    for stack in ("network", "identity", "backup"):
        repo.edit(
            f"stacks/Pulumi.{stack}.yaml", _sub(r"ilag:environment: prod", "ilag:environment: test")
        )
    _sixth(repo)
    extra = []
    for i in range(10):
        slug = f"test{i:02d}"
        extra.append(
            f"""
  - slug: {slug}
    name: Testkommune {i}
    kommunenummer: "18{i:02d}"
    population: {1000 + i}
    technician_group_object_id: 00000000-0000-0000-0000-0000000018{i:02d}
    sites:
      - name: site{i}
        vpn_endpoint: 198.51.100.{100 + i}
        networks:
          - {{name: servers, prefix: 10.{100 + i}.10.0/24}}
"""
        )
        repo.write(
            f"inventories/{slug}/hosts.yml",
            f"---\nall:\n  children:\n    {slug}:\n      children:\n        file_servers:\n"
            f"          hosts:\n            {slug}-fil01:\n              ansible_host: 10.{100 + i}.10.10\n",
        )
    repo.edit("region.yaml", lambda t: t.rstrip("\n") + "\n" + "".join(extra))


def _keys(cipher: str, extra: dict[str, str] | None = None) -> Callable[[FixtureRepo], None]:
    def make(repo: FixtureRepo) -> None:
        slugs = ["andoy", "bo", "hadsel", "oksnes", "sortland", *(extra or {})]
        lines = ["  ilag:vpnSharedKeys:"]
        for slug in slugs:
            value = (extra or {}).get(slug, cipher)
            lines.append(f"    {slug}:\n      secure: {value}")
        repo.edit(
            "stacks/Pulumi.network.yaml", lambda t: t.rstrip("\n") + "\n" + "\n".join(lines) + "\n"
        )
        if extra:
            _sixth(repo)

    return make


def _rotate(slug: str, value: str, secure: bool = True) -> Callable[[FixtureRepo], None]:
    """One municipality's key in the secrets_base stack file: a new ciphertext, or plain."""

    def make(repo: FixtureRepo) -> None:
        new = f"{{secure: {value}}}" if secure else value
        repo.edit(
            "stacks/Pulumi.network.yaml",
            _sub(rf"(    {slug}:)\n      secure: {re.escape(CIPHER_BASE)}", rf"\1 {new}"),
        )

    return make


def _role_secrets(repo: FixtureRepo) -> None:
    lines = [f"{name}: {value}" for name, value in SECRET_DEFAULTS.items()]
    lines.append(f"baseline__backup_env:\n  RESTIC_PASSWORD: {NESTED_SECRET}\n  RESTIC_HOST: fil01")
    repo.edit(
        "roles/baseline/defaults/main.yml",
        lambda t: t.rstrip("\n") + "\n" + "\n".join(lines) + "\n",
    )


def _broken_role(repo: FixtureRepo) -> None:
    # A role's defaults that no longer parse: not every variable removed.
    repo.edit("roles/baseline/defaults/main.yml", lambda t: t + "broken: [\n")


@pytest.fixture(scope="session")
def fixture_repo(tmp_path_factory: pytest.TempPathFactory) -> FixtureRepo:
    root = tmp_path_factory.mktemp("diff") / "repo"
    root.mkdir()
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z"], check=True, capture_output=True, text=True
    ).stdout
    for rel in filter(None, listed.split("\0")):
        src = REPO / rel
        if src.is_file():  # tracked but deleted in the working tree: leave it out
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, root / rel)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "diff-tests@example.invalid")
    git(root, "config", "user.name", "diff tests")
    git(root, "config", "commit.gpgsign", "false")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base: the project as tracked")
    repo = FixtureRepo(root, git(root, "rev-parse", "HEAD"))
    repo.commit("sixth", _sixth)
    repo.commit("prefix", _prefix)
    repo.commit("rename", _rename)
    repo.commit("role_default", _role_default)
    repo.commit("nothing", _nothing)
    repo.commit("large", _large)
    repo.commit("no_program", _no_program)
    secrets_base = repo.commit("secrets_base", _keys(CIPHER_BASE))
    repo.commit("secrets", _keys(CIPHER_HEAD, {"vagan": CIPHER_NEW}))
    repo.commit("psk_rotation", _rotate("hadsel", CIPHER_ROTATED), base=secrets_base)
    repo.commit("psk_plain", _rotate("bo", PLAIN_PSK, secure=False), base=secrets_base)
    repo.commit("role_secrets", _role_secrets)
    repo.commit("broken_role", _broken_role)
    repo.cases["secrets_base"] = secrets_base
    return repo
