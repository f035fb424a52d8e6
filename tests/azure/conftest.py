"""Plans of the three stacks, computed once per session: every test reads the same result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from ilag_infra.azure import plan
from ilag_infra.model.region import load
from ilag_infra.model.stack_outputs import records_container

REPO = Path(__file__).resolve().parents[2]

SIXTH = {
    "slug": "lodingen",
    "name": "Lødingen",
    "kommunenummer": "1851",
    "population": 2071,
    "technician_group_object_id": "00000000-0000-0000-0000-000000001851",
    "sites": [
        {
            "name": "radhuset",
            "vpn_endpoint": "198.51.100.51",
            "networks": [
                {"name": "servers", "prefix": "10.51.10.0/24"},
                {"name": "management", "prefix": "10.51.99.0/24", "management": True},
            ],
        }
    ],
}


@pytest.fixture(scope="session")
def plans() -> dict[str, plan.PlanResult]:
    return {r.stack: r for r in plan.run_many(plan.STACK_ORDER, root=REPO)}


@pytest.fixture(scope="session")
def sixth_plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, plan.PlanResult]:
    """The same stacks against a copy of region.yaml with a sixth municipality added."""
    yaml = YAML()
    data: Any = yaml.load((REPO / "region.yaml").read_text(encoding="utf-8"))
    data["municipalities"].append(SIXTH)
    path = tmp_path_factory.mktemp("sixth") / "region.yaml"
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
    region = load(path)
    return {r.stack: r for r in plan.run_many(plan.STACK_ORDER, region, root=REPO)}


def of_type(result: plan.PlanResult, suffix: str) -> list[plan.PlanResource]:
    return [r for r in result.resources if r.type.endswith(suffix)]


SERVICE_SAS = "azure-native:storage:listStorageAccountServiceSAS"
RECORDS_PREFIX = records_container("")


def backup_containers(result: plan.PlanResult) -> list[plan.PlanResource]:
    """The municipalities' backup containers, without the records containers beside them."""
    return [
        r
        for r in of_type(result, ":BlobContainer")
        if not str(r.inputs["containerName"]).startswith(RECORDS_PREFIX)
    ]


def sas_invokes(result: plan.PlanResult, records: bool = False) -> list[plan.PlanInvoke]:
    """The service SAS the stack asks Azure to sign: the sites' or the records containers'."""
    return [
        i
        for i in result.invokes
        if i.token == SERVICE_SAS
        and str(i.args["canonicalizedResource"]).rsplit("/", 1)[-1].startswith(RECORDS_PREFIX)
        == records
    ]
