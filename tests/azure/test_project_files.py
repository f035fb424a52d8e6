"""`pulumi up -s network` works by construction: project file, entry point, documented keys."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from ilag_infra.azure import settings

from .conftest import REPO

INTERFACE = {
    "network": [
        "gateway_public_ip",
        "hub_prefixes",
        "resolver_inbound_ip",
        "connection_names",
        "dns_domain",
    ],
    "identity": ["key_vault_uri", "ssh_user_ca_public_key", "deploy_identity_client_id"],
    "backup": ["blob_endpoint", "storage_account_name", "container_names", "container_sas_urls"],
}


def test_pulumi_yaml_points_at_the_program() -> None:
    project = YAML(typ="safe").load((REPO / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert project["name"] == "ilag"
    assert project["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": ".venv"},
    }
    assert project["stackConfigDir"] == "stacks"
    main = REPO / project["main"]
    assert (main / "__main__.py").is_file()
    policy = YAML(typ="safe").load((REPO / "policy/PulumiPolicy.yaml").read_text(encoding="utf-8"))
    assert policy["runtime"]["name"] == "python"
    assert (REPO / "policy/__main__.py").is_file()


def test_every_config_key_is_documented_in_stack_files_and_operators_guide() -> None:
    guide = (REPO / "docs/operators.md").read_text(encoding="utf-8")
    for key in settings.KEYS:
        assert f"ilag:{key.name}" in guide, key.name
        for kind in key.stacks:
            text = (REPO / f"stacks/Pulumi.{kind}.yaml").read_text(encoding="utf-8")
            assert f"ilag:{key.name}" in text, (kind, key.name)


def test_stack_files_hold_no_plaintext_secret() -> None:
    secret_keys = {f"ilag:{k.name}" for k in settings.KEYS if k.secret}
    for path in Path(REPO / "stacks").glob("Pulumi.*.yaml"):
        config = YAML(typ="safe").load(path.read_text(encoding="utf-8")).get("config") or {}
        for key in secret_keys & set(config):
            assert "secure" in str(config[key]), (path.name, key)


def test_outputs_named_in_the_interface_are_exported(plans: dict) -> None:  # type: ignore[type-arg]
    doc = (REPO / "docs/interfaces.md").read_text(encoding="utf-8")
    for stack, names in INTERFACE.items():
        for name in names:
            assert f"`{name}`" in doc
            assert name in plans[stack].outputs, (stack, name)
