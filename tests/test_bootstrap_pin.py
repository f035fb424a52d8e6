"""The bootstrap pin decision: no trust on first use, never a silent key change."""

from __future__ import annotations

import paramiko
import pytest

from ilag_infra.onsite import ssh
from ilag_infra.onsite.bootstrap import decide, fingerprint_confirmed


@pytest.fixture(scope="module")
def keys() -> tuple[paramiko.PKey, paramiko.PKey]:
    return paramiko.RSAKey.generate(1024), paramiko.RSAKey.generate(1024)


def test_nothing_pinned_needs_confirmation(keys: tuple[paramiko.PKey, paramiko.PKey]) -> None:
    new, _ = keys
    d = decide(new, [], replace=False)
    assert d.verdict == "confirm" and d.pinned is None and not d.replaces
    assert d.presented == ssh.fingerprint(new)


def test_same_key_is_already_pinned(keys: tuple[paramiko.PKey, paramiko.PKey]) -> None:
    new, other = keys
    assert decide(new, [other, new], replace=False).verdict == "already-pinned"
    assert decide(new, [new], replace=True).verdict == "already-pinned"


def test_changed_key_is_refused_without_replace(
    keys: tuple[paramiko.PKey, paramiko.PKey],
) -> None:
    new, old = keys
    d = decide(new, [old], replace=False)
    assert d.verdict == "changed"
    assert d.pinned == ssh.fingerprint(old) and d.presented == ssh.fingerprint(new)


def test_changed_key_with_replace_still_needs_confirmation(
    keys: tuple[paramiko.PKey, paramiko.PKey],
) -> None:
    new, old = keys
    d = decide(new, [old], replace=True)
    assert d.verdict == "confirm" and d.replaces and d.pinned == ssh.fingerprint(old)


def test_fingerprint_confirmation(keys: tuple[paramiko.PKey, paramiko.PKey]) -> None:
    new, other = keys
    fp = ssh.fingerprint(new)
    assert fingerprint_confirmed(fp, fp)
    assert fingerprint_confirmed(f"  {fp}\n", fp)
    assert fingerprint_confirmed(fp.removeprefix("SHA256:"), fp)
    assert not fingerprint_confirmed(ssh.fingerprint(other), fp)
    assert not fingerprint_confirmed("", fp)
    assert not fingerprint_confirmed(fp[:-1], fp)
