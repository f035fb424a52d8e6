"""The AWX execution environment pins what the controller and the nodes run."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    text = (REPO / "constraints.txt").read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", text, re.MULTILINE))


def test_the_execution_environment_pins_equal_constraints() -> None:
    ee = yaml.safe_load((REPO / "docs/awx/execution-environment.yml").read_text(encoding="utf-8"))
    assert ee["version"] == 3
    deps = ee["dependencies"]
    found = [deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"]]
    found += deps["python"]
    pins = _pins()
    for requirement in found:
        name, version = requirement.split("==")
        assert pins[name] == version, f"{requirement} differs from constraints.txt"
    # The roles use ansible.builtin only: an EE without collections runs them.
    tasks = [*(REPO / "roles").glob("*/tasks/*.yml"), *(REPO / "roles").glob("*/handlers/*.yml")]
    roles = "\n".join(p.read_text(encoding="utf-8") for p in tasks)
    modules = set(re.findall(r"^\s*-?\s*([a-z_]+\.[a-z_]+)\.[a-z_]+:", roles, re.MULTILINE))
    assert modules <= {"ansible.builtin"}, modules
