"""Policy pack for the ilag stacks: `pulumi preview --policy-pack policy` from the project root.

The rules live in ilag_infra.azure.policies, shared with `ilag plan`; this file only serves them.
"""

import sys
from pathlib import Path

try:
    from ilag_infra.azure.policy_pack import PACK_NAME, build
except ModuleNotFoundError:
    # Without the editable install (`make setup`), fall back to the source tree.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from ilag_infra.azure.policy_pack import PACK_NAME, build

from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=build(),
)
