"""The operator's own storage credential and restic passwords, for work done centrally (prune).

Never a site's SAS: in the lab, an account SAS that `ilag lab up` keeps in its outputs file on
the controller; in production, an rclone remote of the operator's own (Entra ID, Storage Blob
Data Contributor) plus the municipality's restic password from its ansible-vault file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ilag_infra.model.errors import InputError, Problem
from ilag_infra.onsite.targets import Target, lab_dir

REMOTE = "ilagop"
# Production: the name of the operator's rclone remote in their own rclone.conf.
PROD_REMOTE_ENV = "ILAG_OPERATOR_RCLONE_REMOTE"
VAULT_PASSWORD_ENV = "ILAG_VAULT_PASSWORD_FILE"


@dataclass(frozen=True)
class Access:
    """How restic/rclone on this machine reach one municipality's container as the operator."""

    remote: str  # rclone remote name
    env: dict[str, str]  # RCLONE_CONFIG and RESTIC_PASSWORD_FILE (paths, not secrets)


def _lab_outputs(target: Target) -> dict[str, object]:
    path = target.outputs_file or lab_dir() / "outputs.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(
            [Problem(str(path), "(file)", "lab outputs not readable", "run `ilag lab up`")]
        ) from None
    return data if isinstance(data, dict) else {}


def restic_password(target: Target, slug: str) -> str:
    """The municipality's restic password from its ansible-vault file (InputError naming the
    file and the fix when it cannot be read)."""
    return _vault_password(target, slug)


def _vault_password(target: Target, slug: str) -> str:
    from ansible.errors import AnsibleError
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import VaultSecret

    vault = target.repo_root / "inventories" / slug / "group_vars" / slug / "vault.yml"
    secret_file = os.environ.get(VAULT_PASSWORD_ENV)
    if not secret_file or not vault.exists():
        raise InputError(
            [
                Problem(
                    str(vault),
                    "vault_restic_password",
                    "the restic password of this municipality is not available",
                    f"create the vault file and set {VAULT_PASSWORD_ENV} (docs/operators.md)",
                )
            ]
        )
    try:
        vault_secret = VaultSecret(Path(secret_file).read_bytes().strip())
    except OSError as exc:
        raise InputError(
            [
                Problem(
                    secret_file,
                    VAULT_PASSWORD_ENV,
                    f"vault password file not readable ({exc.strerror or exc})",
                    f"point {VAULT_PASSWORD_ENV} at the file holding the vault password",
                )
            ]
        ) from None
    loader = DataLoader()
    loader.set_vault_secrets([("default", vault_secret)])
    try:
        data = loader.load_from_file(str(vault))
    except AnsibleError as exc:
        # Ansible's message names the vault, never its contents or the password.
        reason = str(getattr(exc, "message", "") or exc).splitlines()[0]
        raise InputError(
            [
                Problem(
                    str(vault),
                    "vault_restic_password",
                    f"could not decrypt or read the vault: {reason}",
                    f"check that {VAULT_PASSWORD_ENV} names this municipality's vault password "
                    "(`ansible-vault view` with it must work)",
                )
            ]
        ) from None
    value = data.get("vault_restic_password") if isinstance(data, dict) else None
    if not value:
        raise InputError(
            [Problem(str(vault), "vault_restic_password", "missing", "add it with ansible-vault")]
        )
    return str(value)


@contextmanager
def access(target: Target, slug: str) -> Iterator[Access]:
    """Operator access to slug's container; secrets only in a 0600 temporary directory."""
    with tempfile.TemporaryDirectory(prefix="ilag-operator-") as tmp:
        os.chmod(tmp, 0o700)
        password = Path(tmp) / "password"
        if target.env == "lab":
            data = _lab_outputs(target)
            lab = data.get("lab") if isinstance(data.get("lab"), dict) else {}
            assert isinstance(lab, dict)
            sas_url = lab.get("operator_sas_url")
            passwords = lab.get("restic_passwords") or {}
            if not sas_url or not isinstance(passwords, dict) or slug not in passwords:
                raise InputError(
                    [
                        Problem(
                            "lab outputs",
                            "lab.operator_sas_url",
                            "no operator credential in the lab outputs",
                            "run `ilag lab up` again (it writes one)",
                        )
                    ]
                )
            conf = Path(tmp) / "rclone.conf"
            fd = os.open(conf, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(f"[{REMOTE}]\ntype = azureblob\nsas_url = {sas_url}\n")
            remote, env = REMOTE, {"RCLONE_CONFIG": str(conf)}
            secret = str(passwords[slug])
        else:
            remote = os.environ.get(PROD_REMOTE_ENV, "")
            if not remote:
                raise InputError(
                    [
                        Problem(
                            "environment",
                            PROD_REMOTE_ENV,
                            "no operator rclone remote configured",
                            "set it to your rclone remote for the backup storage account "
                            "(Entra ID; see docs/backup.md)",
                        )
                    ]
                )
            env = {}
            secret = _vault_password(target, slug)
        fd = os.open(password, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secret)
        env["RESTIC_PASSWORD_FILE"] = str(password)
        env["RESTIC_CACHE_DIR"] = str(Path(tmp) / "cache")
        yield Access(remote, env)
