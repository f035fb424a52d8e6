"""Offline plan: run a stack's real program under Pulumi mocks and report what it declares.

No Pulumi CLI, no credentials, no network. With preview=True the runtime runs as in `pulumi
preview`: a new resource's outputs are unknown until apply (only its inputs are known), so
policies and Azure's rules see "[unknown]" where a real preview has no value yet. The result
is plain data (JSON-serialisable,
secrets masked as "[secret]") so that callers can compare plans, e.g. at two revisions by URN.
Each run happens in a fresh `contextvars.Context`: the Pulumi runtime keeps its settings,
root stack and config in context variables, so runs in one process do not see each other.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format  # type: ignore[import-untyped]
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import get_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ilag_infra.azure import azure_rules, policies, settings
from ilag_infra.model.errors import IlagError, InputError, Problem
from ilag_infra.model.naming import PHYSICAL_NAME_KEYS
from ilag_infra.model.paths import repo_root
from ilag_infra.model.region import LoadedRegion
from ilag_infra.model.region import load as load_region
from ilag_infra.model.secrets import MASK

SECRET = MASK
UNKNOWN = "[unknown]"
PROJECT = "ilag"
SUBSCRIPTION = "00000000-0000-0000-0000-00000000aaaa"
TENANT = "00000000-0000-0000-0000-00000000bbbb"
# Documentation range (RFC 5737) that this project may use for placeholders.
MOCK_PUBLIC_IP = "198.51.100.250"
UPSTREAM = {"identity": ("network",), "backup": ("network", "identity")}
STACK_ORDER = ("network", "identity", "backup")
# The mock monitor puts the root stack's type into URNs; the engine leaves it out.
_STACK_TYPE = "pulumi:pulumi:Stack$"


class PlanError(IlagError):
    """The program failed while running under mocks."""


@dataclass(frozen=True)
class PlanResource:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    dependencies: list[str]
    inputs: dict[str, Any]


@dataclass(frozen=True)
class PlanInvoke:
    """A provider function the program called, e.g. the SAS listing, with masked arguments."""

    token: str
    args: dict[str, Any]


@dataclass(frozen=True)
class PolicyResult:
    policy: str
    urn: str
    type: str
    name: str
    message: str
    enforcement: str


@dataclass
class PlanResult:
    """What a stack declares: resources, outputs and policy results, secrets masked."""

    stack: str
    resources: list[PlanResource] = field(default_factory=list)
    invokes: list[PlanInvoke] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: list[str] = field(default_factory=list)
    violations: list[PolicyResult] = field(default_factory=list)
    policies_checked: list[str] = field(default_factory=list)
    seconds: float = 0.0
    preview: bool = False

    @property
    def ok(self) -> bool:
        return not any(v.enforcement == policies.MANDATORY for v in self.violations)

    def by_urn(self) -> dict[str, PlanResource]:
        return {r.urn: r for r in self.resources}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanResult:
        """The result `to_dict` gave (e.g. read back from the plan cache)."""
        return cls(
            stack=data["stack"],
            resources=[PlanResource(**r) for r in data["resources"]],
            invokes=[PlanInvoke(**i) for i in data["invokes"]],
            outputs=data["outputs"],
            secret_outputs=data["secret_outputs"],
            violations=[PolicyResult(**v) for v in data["violations"]],
            policies_checked=data["policies_checked"],
            seconds=data["seconds"],
            preview=data["preview"],
        )


# --- stack configuration --------------------------------------------------------------------


def _has_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_has_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secure(v) for v in value)
    return False


def _mask_secure(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET
        return {k: _mask_secure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_secure(v) for v in value]
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    except (OSError, YAMLError) as exc:
        raise InputError(
            [Problem(str(path), "(file)", f"cannot read: {exc}", "fix the YAML syntax")]
        ) from None
    if not isinstance(data, dict):
        raise InputError(
            [Problem(str(path), "(top level)", "expected a mapping", "see the shipped stack files")]
        )
    return data


def stack_config(root: Path, stack: str) -> tuple[dict[str, str], set[str]]:
    """The stack's config as Pulumi hands it to a program: project defaults, then the stack
    file; encrypted values become "[secret]" and are marked secret."""
    config: dict[str, str] = {}
    secret_keys: set[str] = set()
    project = _read_yaml(root / "Pulumi.yaml")
    for key, spec in (project.get("config") or {}).items():
        if isinstance(spec, dict) and "value" in spec:
            config[key] = _config_text(spec["value"])
    stack_file = root / "stacks" / f"Pulumi.{stack}.yaml"
    if stack_file.is_file():
        for key, value in (_read_yaml(stack_file).get("config") or {}).items():
            if _has_secure(value):
                secret_keys.add(key)
            config[key] = _config_text(_mask_secure(value))
    return config, secret_keys


def _config_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _secret_placeholders(kind: str, region: LoadedRegion) -> dict[str, str]:
    """Stand-ins for required secrets that only exist encrypted in an operator's stack."""
    if kind == "network":
        keys = {m.slug: SECRET for m in region.model.municipalities}
        return {"ilag:vpnSharedKeys": json.dumps(keys)}
    if kind == "backup":
        passwords = {m.slug: SECRET for m in region.model.municipalities}
        return {"ilag:resticPasswords": json.dumps(passwords)}
    return {}


def _plan_defaults(kind: str) -> dict[str, str]:
    """Required non-secret keys that a fresh checkout leaves to the operator."""
    if kind == "identity":
        return {
            "ilag:operatorsGroupObjectId": "00000000-0000-0000-0000-0000000000a1",
            "ilag:githubOidcSubject": "repo:example/ilag-infra:environment:prod",
            # A well-formed ed25519 key whose 32 key bytes spell a placeholder.
            "ilag:sshUserCaPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBsYW4tcGxhY2Vob2"
            "xkZXItbm90LWEtcmVhbC1rZXkh plan-placeholder",
        }
    if kind == "backup":
        return {"ilag:sasExpiry": "2030-01-01T00:00:00Z"}
    if kind == "network":
        return {"ilag:operatorsEmail": "drift@ilag.example"}
    return {}


# --- mocks ----------------------------------------------------------------------------------

_PROVIDERS = {
    "network": "Microsoft.Network",
    "privatedns": "Microsoft.Network",
    "dnsresolver": "Microsoft.Network",
    "keyvault": "Microsoft.KeyVault",
    "storage": "Microsoft.Storage",
    "managedidentity": "Microsoft.ManagedIdentity",
    "recoveryservices": "Microsoft.RecoveryServices",
    "authorization": "Microsoft.Authorization",
    "operationalinsights": "Microsoft.OperationalInsights",
    "monitor": "Microsoft.Insights",
}


# Name inputs the shared table leaves out because only the plan needs them.
_PLAN_NAME_KEYS = {"RoleDefinition": "roleDefinitionId"}


def _azure_name(type_: str, logical: str, inputs: Mapping[str, Any]) -> str:
    cls = type_.rsplit(":", 1)[-1]
    key = PHYSICAL_NAME_KEYS.get(cls) or _PLAN_NAME_KEYS.get(cls, cls[0].lower() + cls[1:] + "Name")
    value = inputs.get(key)
    return str(value) if value else logical


def _stable_uuid(*parts: str) -> str:
    return str(uuid.UUID(hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]))


def _arm_id(type_: str, name: str, inputs: Mapping[str, Any]) -> str:
    _, module, cls = type_.split(":")
    sub = f"/subscriptions/{SUBSCRIPTION}"
    if cls == "ResourceGroup":
        return f"{sub}/resourceGroups/{name}"
    if cls in ("RoleAssignment", "ManagementLockByScope", "RoleDefinition"):
        kind = {
            "RoleAssignment": "roleAssignments",
            "RoleDefinition": "roleDefinitions",
        }.get(cls, "locks")
        return f"{inputs.get('scope', sub)}/providers/Microsoft.Authorization/{kind}/{name}"
    rg = f"{sub}/resourceGroups/{inputs.get('resourceGroupName', 'rg')}"
    prov = f"{rg}/providers/{_PROVIDERS.get(module, 'Microsoft.' + module.capitalize())}"
    children = {
        "Subnet": f"virtualNetworks/{inputs.get('virtualNetworkName')}/subnets",
        "VirtualNetworkPeering": f"virtualNetworks/{inputs.get('virtualNetworkName')}"
        "/virtualNetworkPeerings",
        "InboundEndpoint": f"dnsResolvers/{inputs.get('dnsResolverName')}/inboundEndpoints",
        "OutboundEndpoint": f"dnsResolvers/{inputs.get('dnsResolverName')}/outboundEndpoints",
        "VirtualNetworkLink": f"privateDnsZones/{inputs.get('privateZoneName')}"
        "/virtualNetworkLinks",
        "BlobContainer": f"storageAccounts/{inputs.get('accountName')}/blobServices/default"
        "/containers",
        "BlobServiceProperties": f"storageAccounts/{inputs.get('accountName')}/blobServices",
        "ManagementPolicy": f"storageAccounts/{inputs.get('accountName')}/managementPolicies",
        "ProtectionPolicy": f"vaults/{inputs.get('vaultName')}/backupPolicies",
        "FederatedIdentityCredential": f"userAssignedIdentities/{inputs.get('resourceName')}"
        "/federatedIdentityCredentials",
        "PrivateDnsZoneGroup": f"privateEndpoints/{inputs.get('privateEndpointName')}"
        "/privateDnsZoneGroups",
        "PublicIPAddress": "publicIPAddresses",
        "PrivateZone": "privateDnsZones",
        "Vault": "vaults",
    }
    collection = children.get(cls, cls[0].lower() + cls[1:] + "s")
    return f"{prov}/{collection}/{name}"


class _Mocks(pmocks.Mocks):
    """Plausible Azure answers: ids, addresses and endpoints shaped like the real ones."""

    def __init__(self, upstream: Mapping[str, Mapping[str, Any]], preview: bool = False) -> None:
        self.upstream = upstream
        self.preview = preview
        self.invokes: list[PlanInvoke] = []

    def new_resource(self, args: pmocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            ref = str(inputs.get("name") or args.name)
            upstream_stack = ref.rsplit("/", 1)[-1]
            outputs = dict(self.upstream.get(upstream_stack, {}))
            return ref, {"name": ref, "outputs": outputs, "secretOutputNames": []}
        if not args.typ.startswith("azure-native:"):
            return f"{args.name}-id", inputs
        if self.preview:
            # A create in preview: the id and every output that is not an input are unknown.
            return "", inputs
        name = _azure_name(args.typ, args.name, inputs)
        state = {**inputs, "name": name}
        rid = _arm_id(args.typ, name, inputs)
        cls = args.typ.rsplit(":", 1)[-1]
        if cls == "PublicIPAddress":
            state["ipAddress"] = MOCK_PUBLIC_IP
        elif cls == "StorageAccount":
            base = f"https://{name}"
            state["primaryEndpoints"] = {
                "blob": f"{base}.blob.core.windows.net/",
                "dfs": f"{base}.dfs.core.windows.net/",
            }
        elif cls == "Vault" and args.typ.startswith("azure-native:keyvault:"):
            props = dict(inputs.get("properties") or {})
            props["vaultUri"] = f"https://{name}.vault.azure.net/"
            state["properties"] = props
        if "SystemAssigned" in str((inputs.get("identity") or {}).get("type", "")):
            # A system-assigned identity's principal, as Azure returns it (the Backup vault's).
            state["identity"] = {
                **inputs["identity"],
                "principalId": _stable_uuid("principal", rid),
                "tenantId": TENANT,
            }
        if cls == "UserAssignedIdentity":
            state["clientId"] = _stable_uuid("client", rid)
            state["principalId"] = _stable_uuid("principal", rid)
            state["tenantId"] = TENANT
        return rid, state

    def call(self, args: pmocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.invokes.append(PlanInvoke(args.token, _plain_args(args.args)))
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": _stable_uuid("client"),
                "objectId": _stable_uuid("object"),
                "subscriptionId": SUBSCRIPTION,
                "tenantId": TENANT,
            }, []
        if args.token == "azure-native:storage:listStorageAccountServiceSAS":
            a = args.args
            token = (
                f"sv=2022-11-02&sr={a.get('resource')}&sp={a.get('permissions')}"
                f"&se={a.get('sharedAccessExpiryTime')}&spr=https&sig=PLAN"
            )
            return {"serviceSasToken": token}, []
        return {}, []


def _plain_args(value: Any) -> Any:
    """Deserialised invoke arguments → plain data; secrets are Outputs there, so mask those."""
    if isinstance(value, dict):
        return {k: _plain_args(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain_args(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return SECRET


def _plain(value: Any) -> Any:
    """Protobuf JSON → plain data with secrets masked and resource refs as URNs."""
    if isinstance(value, dict):
        sig = value.get(rpc._special_sig_key)
        if sig == rpc._special_secret_sig:
            return SECRET
        if sig == rpc._special_resource_sig:
            return value.get("urn")
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _real_urn(urn: str) -> str:
    return urn.replace(_STACK_TYPE, "")


class _Recorder(pmocks.MockMonitor):
    """The mock monitor, also keeping parent, dependencies and masked inputs per resource."""

    def __init__(self, mocks: pmocks.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[PlanResource] = []

    def _record(self, request: Any, custom: bool, deps: list[str]) -> None:
        urn = _real_urn(self.make_urn(request.parent, request.type, request.name))
        inputs = _plain(
            json_format.MessageToDict(
                request.object if hasattr(request, "object") else request.properties
            )
        )
        self.recorded.append(
            PlanResource(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=custom,
                parent=_real_urn(request.parent) or None,
                dependencies=sorted({_real_urn(d) for d in deps}),
                inputs=inputs,
            )
        )

    def RegisterResource(self, request: Any) -> Any:
        if request.type != "pulumi:pulumi:Stack":
            self._record(request, bool(request.custom), list(request.dependencies))
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]

    def ReadResource(self, request: Any) -> Any:
        self._record(request, True, list(request.dependencies))
        return super().ReadResource(request)  # type: ignore[no-untyped-call]


def _known_only(value: Any) -> Any:
    """Output values with the preview's unknowns as "[unknown]"."""
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _known_only(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_known_only(v) for v in value]
    return value


async def _resolve_outputs(outputs: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    resolved: dict[str, Any] = {}
    secret: list[str] = []
    for name in sorted(outputs):
        out = pulumi.Output.from_input(outputs[name])
        value = await out.future(with_unknowns=True)
        if await out.is_secret():
            secret.append(name)
            resolved[name] = SECRET
        else:
            resolved[name] = _plain(json.loads(json.dumps(_known_only(value), default=str)))
    return resolved, secret


# The SDK gives every azure-native resource an alias per past API version of its type (about
# 20 each). Pulumi turns each alias into a URN through several Outputs: about a third of a
# plan's CPU. They only let a deployed state written under an old type match, and a plan has
# no state, so the plan drops them; an alias the program itself declares stays.
_VERSION_ALIAS = re.compile(r"azure-native:[a-z0-9]+/v[0-9a-z]+:[A-Za-z0-9]+")


def _is_version_alias(alias: Any, type_: str) -> bool:
    if not isinstance(alias, pulumi.Alias) or not isinstance(alias.type_, str):
        return False
    # The SDK leaves every other field unset (Ellipsis, which its type hints do not admit).
    others: tuple[Any, ...] = (alias.name, alias.parent, alias.stack, alias.project)
    module, cls = type_.split(":")[1:3] if type_.count(":") == 2 else ("", "")
    return (
        all(o is ... for o in others)
        and _VERSION_ALIAS.fullmatch(alias.type_) is not None
        and alias.type_.startswith(f"azure-native:{module}/")
        and alias.type_.endswith(f":{cls}")
    )


def _drop_version_aliases(
    args: pulumi.ResourceTransformationArgs,
) -> pulumi.ResourceTransformationResult | None:
    aliases = args.opts.aliases
    if not aliases or not args.type_.startswith("azure-native:"):
        return None
    kept = [a for a in aliases if not _is_version_alias(a, args.type_)]
    if len(kept) == len(aliases):
        return None
    opts = args.opts._copy()
    opts.aliases = kept or None
    return pulumi.ResourceTransformationResult(args.props, opts)


def _execute(
    stack: str,
    root: Path,
    config: dict[str, str],
    secret_keys: set[str],
    upstream: Mapping[str, Mapping[str, Any]],
    region: LoadedRegion | None = None,
    preview: bool = False,
    production: bool = False,
) -> tuple[list[PlanResource], list[PlanInvoke], dict[str, Any], list[str]]:
    from ilag_infra.azure.program import run as run_program

    mocks = _Mocks(upstream, preview)
    recorder = _Recorder(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=recorder)
    pulumi.runtime.set_all_config(config, sorted(secret_keys))
    pulumi.runtime.register_stack_transformation(_drop_version_aliases)
    _sync_await(run_pulumi_func(lambda: run_program(stack, root, region, not production)))
    stack_resource = get_root_resource()
    exported: Mapping[str, Any] = getattr(stack_resource, "outputs", {}) or {}
    outputs, secret = _sync_await(_resolve_outputs(exported))
    return recorder.recorded, mocks.invokes, outputs, secret


def _planned(stack: str, resources: list[PlanResource]) -> list[azure_rules.PlannedResource]:
    return [
        azure_rules.PlannedResource(stack, r.urn, r.type, r.name, r.inputs, tuple(r.dependencies))
        for r in resources
        if r.custom
    ]


def _rule_results(violations: list[azure_rules.RuleViolation]) -> list[PolicyResult]:
    """Azure's rules reported like mandatory policies: a breach fails the plan. What a rule
    could not decide because a value is unknown until apply is reported as advisory."""
    return [
        PolicyResult(
            v.rule,
            v.urn,
            v.type,
            v.name,
            v.message,
            policies.ADVISORY if v.unknown else policies.MANDATORY,
        )
        for v in violations
    ]


def _evaluate(stack: str, resources: list[PlanResource]) -> list[PolicyResult]:
    out = []
    for res in resources:
        if not res.custom:
            continue
        for v in policies.check(res.type, res.inputs):
            out.append(
                PolicyResult(v.policy, res.urn, res.type, res.name, v.message, v.enforcement)
            )
    return out + _rule_results(azure_rules.check_plan(_planned(stack, resources)))


def check_across(results: list[PlanResult]) -> list[PolicyResult]:
    """Names Azure needs unique in the tenant or worldwide, checked over several plans at once
    (e.g. every stack of two environments): role assignments, storage accounts, key vaults."""
    everything = [res for result in results for res in _planned(result.stack, result.resources)]
    return _rule_results(azure_rules.unique_names(everything))


def run(
    stack: str,
    region: LoadedRegion | None = None,
    *,
    root: Path | None = None,
    config: Mapping[str, str] | None = None,
    upstream: Mapping[str, Mapping[str, Any]] | None = None,
    preview: bool = False,
    production: bool = False,
    regions: dict[Path, LoadedRegion] | None = None,
    cache: bool = False,
) -> PlanResult:
    """Plan one stack offline.

    stack:    network | identity | backup, optionally -<env>; its config comes from
              stacks/Pulumi.<stack>.yaml under `root` (default: nearest Pulumi.yaml).
    region:   a loaded region model to plan against instead of the stack's regionFile.
    config:   extra `ilag:key` → text config, applied last (tests, what-if runs).
    upstream: outputs of upstream stacks by stack name; missing ones are planned first,
              with the same region and root, and fed to the StackReferences.
    preview:  run as `pulumi preview` does: outputs of this stack's resources are unknown.
              Upstream stacks are planned as deployed (a StackReference reads real outputs).
    production: plan as production runs: a prod stack's file may keep no placeholder, and
              no example value fills in a required key. Otherwise (the lab, tests) they may.
    regions:  region files already loaded in this run, by resolved path (filled as read).
    cache:    reuse a stored plan of exactly these inputs (plan_cache), and store this one.
    Raises InputError for bad config/region (nothing ran) and PlanError if the program fails.
    """
    started = time.perf_counter()
    root = (root or repo_root()).resolve()
    kind, suffix = settings.stack_kind(stack)
    cfg, secret_keys = stack_config(root, stack)
    if not production:
        for key, value in _plan_defaults(kind).items():
            cfg.setdefault(key, value)
    if region is not None:
        cfg["ilag:regionFile"] = str(Path(region.path).resolve())
    if config:
        cfg.update(config)
    if region is None:
        region_file = Path(cfg.get("ilag:regionFile", "region.yaml"))
        path = region_file if region_file.is_absolute() else root / region_file
        # Stacks of one run mostly share one region.yaml: it is parsed once.
        region = regions.get(path.resolve()) if regions is not None else None
        if region is None:
            region = load_region(path)
            if regions is not None:
                regions[path.resolve()] = region
    for key, value in _secret_placeholders(kind, region).items():
        if key not in cfg:
            cfg[key] = value
            secret_keys.add(key)

    feeds: dict[str, Mapping[str, Any]] = dict(upstream or {})
    for up_kind in UPSTREAM.get(kind, ()):
        ref_key = f"ilag:{up_kind}Stack"
        default_ref = f"organization/{PROJECT}/{up_kind}" + (f"-{suffix}" if suffix else "")
        up_stack = cfg.get(ref_key, default_ref).rsplit("/", 1)[-1]
        if up_stack not in feeds:
            up_result = run(
                up_stack,
                region,
                root=root,
                upstream=feeds,
                production=production,
                regions=regions,
                cache=cache,
            )
            feeds[up_stack] = up_result.outputs

    plan_key = None
    if cache:
        from ilag_infra.azure import plan_cache

        plan_key = plan_cache.key(
            stack,
            root=root,
            config=cfg,
            secret_keys=secret_keys,
            region_file=Path(region.path).resolve(),
            upstream=feeds,
            preview=preview,
            production=production,
        )
        stored = plan_cache.load(plan_key)
        try:
            hit = PlanResult.from_dict(stored) if stored is not None else None
        except (KeyError, TypeError):
            hit = None  # a file of another shape: plan afresh and store over it
        if hit is not None:
            hit.seconds = round(time.perf_counter() - started, 3)
            return hit

    ctx = contextvars.Context()
    try:
        resources, invokes, outputs, secret = ctx.run(
            _execute, stack, root, cfg, secret_keys, feeds, region, preview, production
        )
    except IlagError:
        raise
    except pulumi.RunError as exc:
        raise PlanError(f"stack {stack}: {exc}") from None
    except Exception as exc:
        raise PlanError(
            f"stack {stack}: the program failed under mocks: {type(exc).__name__}: {exc}"
        ) from exc
    result = PlanResult(
        stack=stack,
        resources=sorted(resources, key=lambda r: r.urn),
        invokes=sorted(invokes, key=lambda i: json.dumps(asdict(i), sort_keys=True)),
        outputs=outputs,
        secret_outputs=secret,
        violations=_evaluate(stack, resources),
        policies_checked=[p.name for p in policies.POLICIES] + list(azure_rules.RULE_NAMES),
        preview=preview,
    )
    result.seconds = round(time.perf_counter() - started, 3)
    if plan_key is not None:
        from ilag_infra.azure import plan_cache

        plan_cache.store(plan_key, result.to_dict())
    return result


def run_many(
    stacks: list[str] | tuple[str, ...],
    region: LoadedRegion | None = None,
    *,
    root: Path | None = None,
    preview: bool = False,
    production: bool = False,
    cache: bool = False,
) -> list[PlanResult]:
    """Plan several stacks in the given order, each feeding its outputs to the later ones.
    In preview, each stack is previewed against its upstream stacks as deployed. With cache,
    a stack whose inputs are unchanged since a stored plan is read back, not planned."""
    feeds: dict[str, Mapping[str, Any]] = {}
    regions: dict[Path, LoadedRegion] = {}
    results = []
    for stack in stacks:
        result = run(
            stack,
            region,
            root=root,
            upstream=feeds,
            preview=preview,
            production=production,
            regions=regions,
            cache=cache,
        )
        if preview:
            feeds[stack] = run(
                stack,
                region,
                root=root,
                upstream=feeds,
                production=production,
                regions=regions,
                cache=cache,
            ).outputs
        else:
            feeds[stack] = result.outputs
        results.append(result)
    return results
