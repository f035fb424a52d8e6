"""Object ids are parsed with uuid and SSH public keys with cryptography, not pattern-matched."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ilag_infra.azure import plan
from ilag_infra.model.errors import InputError

from .conftest import REPO


def _identity(plans: dict[str, plan.PlanResult], **config: str) -> plan.PlanResult:
    return plan.run(
        "identity",
        root=REPO,
        config={f"ilag:{k}": v for k, v in config.items()},
        upstream={"network": plans["network"].outputs},
    )


def _openssh(key: object) -> str:
    return key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


@pytest.mark.parametrize(
    "line",
    [
        _openssh(ed25519.Ed25519PrivateKey.generate().public_key()) + " ilag-user-ca",
        _openssh(ec.generate_private_key(ec.SECP256R1()).public_key()),
        _openssh(rsa.generate_private_key(65537, 3072).public_key()) + " ca@offline",
    ],
)
def test_real_public_keys_are_accepted(line: str, plans: dict[str, plan.PlanResult]) -> None:
    result = _identity(plans, sshUserCaPublicKey=line)
    assert result.outputs["ssh_user_ca_public_key"] == line


def _blob(kind: bytes, payload: bytes) -> str:
    data = struct.pack(">I", len(kind)) + kind + struct.pack(">I", len(payload)) + payload
    return base64.b64encode(data).decode()


@pytest.mark.parametrize(
    "line",
    [
        # The old pattern took any base64 after a known type name.
        "ssh-ed25519 AAAAAAAA ilag",
        f"ssh-ed25519 {_blob(b'ssh-ed25519', b'short')} truncated key bytes",
        f"ssh-ed25519 {_blob(b'ssh-rsa', b'x' * 32)} type inside differs",
        "ssh-ed25519 not_base64!!",
        "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA",
        "ssh-dss AAAAB3NzaC1kc3MAAACBAP",
    ],
)
def test_malformed_keys_are_bad_input(line: str, plans: dict[str, plan.PlanResult]) -> None:
    with pytest.raises(InputError) as err:
        _identity(plans, sshUserCaPublicKey=line)
    assert "ilag:sshUserCaPublicKey" in str(err.value)


@pytest.mark.parametrize(
    "value",
    ["00000000-0000-0000-0000-0000000000A1", "0d9c6f0e-1b2a-4c3d-8e4f-a1b2c3d4e5f6"],
)
def test_object_ids_are_uuids(value: str, plans: dict[str, plan.PlanResult]) -> None:
    result = _identity(plans, operatorsGroupObjectId=value)
    assert result.outputs["operators_group_object_id"] == value.lower()


@pytest.mark.parametrize(
    "value",
    [
        "not-a-uuid",
        "{0d9c6f0e-1b2a-4c3d-8e4f-a1b2c3d4e5f6}",
        "0d9c6f0e1b2a4c3d8e4fa1b2c3d4e5f6",
        "urn:uuid:0d9c6f0e-1b2a-4c3d-8e4f-a1b2c3d4e5f6",
        "0d9c6f0e-1b2a-4c3d-8e4f-a1b2c3d4e5f",
    ],
)
def test_other_shapes_are_bad_input(value: str, plans: dict[str, plan.PlanResult]) -> None:
    with pytest.raises(InputError) as err:
        _identity(plans, operatorsGroupObjectId=value)
    assert "ilag:operatorsGroupObjectId" in str(err.value)


def test_two_ca_keys_are_trusted_while_rotating(plans: dict[str, plan.PlanResult]) -> None:
    old = _openssh(ed25519.Ed25519PrivateKey.generate().public_key()) + " ca-2026"
    new = _openssh(ed25519.Ed25519PrivateKey.generate().public_key()) + " ca-2027"
    result = _identity(plans, sshUserCaPublicKey=f"{old}\n{new}\n")
    assert result.outputs["ssh_user_ca_public_key"] == f"{old}\n{new}"


@pytest.mark.parametrize("lines", ["twice", "four", "one bad"])
def test_a_rotation_list_with_a_repeat_too_many_or_a_bad_line_is_refused(
    lines: str, plans: dict[str, plan.PlanResult]
) -> None:
    key = _openssh(ed25519.Ed25519PrivateKey.generate().public_key())
    value = {
        "twice": f"{key} a\n{key} b",
        "four": "\n".join(
            _openssh(ed25519.Ed25519PrivateKey.generate().public_key()) for _ in range(4)
        ),
        "one bad": f"{key}\nssh-ed25519 AAAAAAAA broken",
    }[lines]
    with pytest.raises(InputError) as err:
        _identity(plans, sshUserCaPublicKey=value)
    assert "ilag:sshUserCaPublicKey" in str(err.value)


def test_ca_key_dates_are_read_by_fingerprint_and_bad_ones_refused(
    plans: dict[str, plan.PlanResult],
) -> None:
    from ilag_infra.model.ca_age import fingerprint

    key = _openssh(ed25519.Ed25519PrivateKey.generate().public_key()) + " ca-2026"
    fp = fingerprint(key)
    assert fp is not None
    good = _identity(plans, sshUserCaPublicKey=key, sshUserCaCreated=f'{{"{fp}": "2026-02-01"}}')
    assert good.outputs["ssh_user_ca_public_key"] == key
    for created, max_age, named in (
        (f'{{"{fp}": "February"}}', "365", "ilag:sshUserCaCreated"),
        ('{"MD5:bm90LXRydXN0ZWQ": "2026-02-01"}', "365", "ilag:sshUserCaCreated"),
        ('["2026-02-01"]', "365", "ilag:sshUserCaCreated"),
        (f'{{"{fp}": "2026-02-01"}}', "0", "ilag:sshUserCaMaxAgeDays"),
    ):
        with pytest.raises(InputError) as err:
            _identity(
                plans,
                sshUserCaPublicKey=key,
                sshUserCaCreated=created,
                sshUserCaMaxAgeDays=max_age,
            )
        text = str(err.value)
        assert "stacks/Pulumi.identity.yaml" in text
        assert named in text, (created, max_age, text)
