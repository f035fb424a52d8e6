"""Plan every Azure stack of one revision offline and write the results as JSON.

`ilag diff` runs this in a child process whose PYTHONPATH is the revision's `src/` and whose
working directory is the revision's root, so that revision's own program and plan code run.
It imports nothing from ilag_infra at module level and only the standard library otherwise,
because `ilag diff` also passes this file's source to `python -c` for older revisions that do
not have it. Usage: python -m ilag_infra.diff.worker ROOT OUTFILE
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any

# 2: secrets are recorded as keyed fingerprints and resources carry their aliases.
PROTOCOL = 2
DEFAULT_STACKS = ("network", "identity", "backup")
# The key of the secret fingerprints; `ilag diff` passes one key to both revisions' workers,
# so equal secrets compare equal, and no fingerprint is comparable outside that one diff.
FINGERPRINT_KEY_ENV = "ILAG_DIFF_FINGERPRINT_KEY"
FINGERPRINT = re.compile(r"\[secret:[0-9a-f]{16}\]")
_STACK_TYPE = "pulumi:pulumi:Stack$"
# Invoke arguments that could carry credentials are never written out. The names come from
# ilag_infra/model/secret_names.py, copied here verbatim between the markers: this file must
# stay standard-library-only and import nothing from ilag_infra, because its source also runs
# against older revisions that have no such module. tests/test_secret_names.py fails when the
# copy and the source differ.
# --- secret names: begin ---
# Words that make a name secret, matched as whole words of the name (camelCase, snake_case,
# kebab-case and dotted names are split), singular or plural, case-insensitive.
SECRET_WORDS = frozenset(
    {
        "key",
        "secret",
        "password",
        "passwd",
        "passphrase",
        "psk",
        "token",
        "sig",
        "signature",
        "credential",
        "sas",
        "connectionstring",
    }
)
# Words that make a name secret only as its last word: Ansible's ansible_become_pass and
# ansible_ssh_pass, while login.defs' PASS_MAX_DAYS stays a setting.
SECRET_LAST_WORDS = frozenset({"pass"})
# Secret wherever they appear in the name, separators removed (userPassword, sshPrivateKey).
SECRET_PARTS = ("password", "passwd", "connectionstring", "credential", "privatekey")
# Whole names (lower case, separators removed) that contain a secret word but are not secret:
# keyToSign says which account key signs a SAS ("key1"), not the key itself.
NOT_SECRET = frozenset({"keytosign"})
_NAME_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def is_secret_name(name: str) -> bool:
    """True if a key, output, argument or variable with this name holds a secret value."""
    text = str(name)
    compact = re.sub(r"[^a-z0-9]", "", text.lower())
    if compact in NOT_SECRET:
        return False
    words = [w.lower() for w in _NAME_WORD.findall(text)]
    singular = {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words}
    found = (set(words) | singular) & SECRET_WORDS
    # A public key is public by definition, and a key vault's name is a name: only "key"
    # hits are forgiven so.
    if found == {"key"} and ("public" in words or "vault" in words):
        return False
    if found or (words and words[-1] in SECRET_LAST_WORDS):
        return True
    return any(part in compact for part in SECRET_PARTS)


# --- secret names: end ---


def _masked_args(args: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(args, dict):
        return out
    for name, value in sorted(args.items()):
        if is_secret_name(str(name)):
            out[str(name)] = "[secret]"
        else:
            out[str(name)] = json.loads(json.dumps(value, default=str))
    return out


def _record_invokes(plan: Any) -> list[dict[str, Any]]:
    """Data-source calls (e.g. a container's SAS) of an older revision whose plan API does not
    report them: a SAS is only visible as a secret output, so wrap the mocks' call."""
    calls: list[dict[str, Any]] = []
    mocks = getattr(plan, "_Mocks", None)
    original = getattr(mocks, "call", None)
    if mocks is None or original is None:
        return calls

    def call(self: Any, args: Any) -> Any:
        calls.append({"token": str(args.token), "args": _masked_args(dict(args.args or {}))})
        return original(self, args)

    mocks.call = call
    return calls


def fingerprint(kind: str, value: str, key: bytes) -> str:
    """A secret as `[secret:<16 hex>]`: a keyed hash of its ciphertext (kind "secure") or of
    its value where only that is known (kind "plain"). Never reversible, never the value."""
    digest = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"[secret:{digest[:16]}]"


def _fingerprint_key() -> bytes:
    try:
        return bytes.fromhex(os.environ.get(FINGERPRINT_KEY_ENV, ""))[:32] or os.urandom(32)
    except ValueError:
        return os.urandom(32)


def _fingerprint_secrets(plan: Any) -> None:
    """The plan masks every secret as the same "[secret]", so a rotated key looked unchanged.
    Record a fingerprint instead: the stack file's ciphertext for config set with --secret,
    a keyed hash of the value for any other secret the program makes."""
    key = _fingerprint_key()
    mask_secure = getattr(plan, "_mask_secure", None)
    plain = getattr(plan, "_plain", None)
    if mask_secure is not None:

        def masked(value: Any) -> Any:
            if isinstance(value, dict):
                if set(value) == {"secure"}:
                    return fingerprint("secure", str(value["secure"]), key)
                return {k: masked(v) for k, v in value.items()}
            if isinstance(value, list):
                return [masked(v) for v in value]
            return value

        plan._mask_secure = masked
    if plain is None:
        return
    from pulumi.runtime import rpc

    def plain_fp(value: Any) -> Any:
        if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            inner = value.get("value")
            text = inner if isinstance(inner, str) else json.dumps(inner, sort_keys=True)
            if FINGERPRINT.fullmatch(text):
                return text
            return fingerprint("plain", text, key)
        return plain(value)

    plan._plain = plain_fp


def _strip_stack(urn: str) -> str:
    return urn.replace(_STACK_TYPE, "")


def _record_aliases(plan: Any) -> dict[str, list[str]]:
    """URN → the URNs its aliases name. The plan does not record them, so without this an
    alias added exactly as the diff suggests still looked like a delete and a create."""
    found: dict[str, list[str]] = {}
    recorder = getattr(plan, "_Recorder", None)
    original = getattr(recorder, "RegisterResource", None)
    if recorder is None or original is None:
        return found

    def register(self: Any, request: Any) -> Any:
        urns = [str(u) for u in getattr(request, "aliasURNs", [])]
        for alias in getattr(request, "aliases", []):
            if alias.WhichOneof("alias") == "urn":
                urns.append(alias.urn)
                continue
            spec = alias.spec
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            urn = self.make_urn(parent, spec.type or request.type, spec.name or request.name)
            parts = urn.split("::")
            if spec.stack:
                parts[0] = f"urn:pulumi:{spec.stack}"
            if spec.project:
                parts[1] = spec.project
            urns.append("::".join(parts))
        if urns and request.type != "pulumi:pulumi:Stack":
            own = _strip_stack(self.make_urn(request.parent, request.type, request.name))
            found[own] = sorted({_strip_stack(u) for u in urns})
        return original(self, request)

    recorder.RegisterResource = register
    return found


def _run_stack(plan: Any, stack: str, root: Path, feeds: dict[str, Any]) -> Any:
    params = inspect.signature(plan.run).parameters
    kwargs: dict[str, Any] = {}
    if "root" in params:
        kwargs["root"] = root
    if "upstream" in params:
        kwargs["upstream"] = feeds
    return plan.run(stack, **kwargs)


def plan_revision(root: Path) -> dict[str, Any]:
    """Every stack of the revision at root, planned in order, each failure kept per stack."""
    out: dict[str, Any] = {"protocol": PROTOCOL, "program": True, "stacks": []}
    try:
        import ilag_infra

        out["package"] = str(Path(ilag_infra.__file__).resolve())
        from ilag_infra.azure import plan
    except ImportError as exc:
        # An older revision without the Azure program: its plan is empty.
        out["program"] = False
        out["reason"] = f"{type(exc).__name__}: {exc}"
        return out
    # Newer plans report their provider calls; only older revisions need the mocks wrapped.
    reports_invokes = "invokes" in getattr(
        getattr(plan, "PlanResult", None), "__dataclass_fields__", {}
    )
    calls: list[dict[str, Any]] = [] if reports_invokes else _record_invokes(plan)
    _fingerprint_secrets(plan)
    aliases = _record_aliases(plan)
    feeds: dict[str, Any] = {}
    for stack in getattr(plan, "STACK_ORDER", DEFAULT_STACKS):
        calls.clear()
        aliases.clear()
        entry: dict[str, Any] = {"stack": stack}
        try:
            result = _run_stack(plan, stack, root, feeds)
        except Exception as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}".strip()
            # The revision's own code says bad input (its exit code 2): a broken file, not a bug.
            entry["bad_input"] = getattr(exc, "exit_code", None) == 2
            entry["trace"] = traceback.format_exc(limit=3)[-2000:]
        else:
            feeds[stack] = result.outputs
            entry["plan"] = result.to_dict()
            for res in entry["plan"].get("resources", []):
                if res.get("urn") in aliases:
                    res["aliases"] = aliases[res["urn"]]
            entry["invokes"] = (
                [
                    {"token": str(i.token), "args": _masked_args(dict(i.args))}
                    for i in result.invokes
                ]
                if reports_invokes
                else list(calls)
            )
        out["stacks"].append(entry)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m ilag_infra.diff.worker ROOT OUTFILE\n")
        return 2
    root, outfile = Path(argv[0]).resolve(), Path(argv[1])
    data = plan_revision(root)
    outfile.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
