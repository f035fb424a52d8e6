"""The one check for shipped placeholders, in region.yaml and in the stack files.

The repository ships example values so that the lab and the offline plan run from a fresh
clone: documentation addresses (RFC 5737, RFC 3849), names under reserved domains (RFC 2606,
RFC 6761), object ids that are all zeros but for the last group, and an SSH CA key whose key
bytes say "placeholder". The lab and the tests accept them; production refuses them.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from pathlib import Path
from typing import Any

from ilag_infra.model import yamlsource
from ilag_infra.model.errors import Problem
from ilag_infra.model.yamlsource import KeyPath, format_path, line_of

DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
RESERVED_NAME = re.compile(
    r"(^|\.)(example\.(com|net|org)|[^.]+\.(example|invalid|test|localhost)|"
    r"example|invalid|test|localhost)\.?$",
    re.I,
)
ZERO_ID = re.compile(r"00000000-0000-0000-0000-[0-9a-f]{12}", re.I)
_NAME = re.compile(r"[A-Za-z0-9.-]+")
_SSH_KEY = re.compile(r"(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) (\S+)( .*)?")
# The environment whose stacks are production; any other (test, dev, …) may keep examples.
PRODUCTION = "prod"
STACK_FILES = "stacks/Pulumi.*.yaml"


def documentation_address(value: str) -> bool:
    """An address or prefix inside a documentation range."""
    try:
        net = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return False
    return any(
        net.version == doc.version and net.subnet_of(doc)  # type: ignore[arg-type]
        for doc in DOCUMENTATION_NETWORKS
    )


def _placeholder_key(value: str) -> bool:
    found = _SSH_KEY.fullmatch(value.strip())
    if found is None:
        return False
    try:
        blob = base64.b64decode(found.group(2), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b"placeholder" in blob.lower() or "placeholder" in (found.group(3) or "").lower()


def reason(value: Any) -> str | None:
    """Why this value is a shipped placeholder, or None if it is not one."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if documentation_address(text):
        return f"{text} is a documentation address (RFC 5737/3849), not a real one"
    if ZERO_ID.fullmatch(text):
        return f"{text} is a placeholder object id"
    if _placeholder_key(text):
        return "is the placeholder SSH CA key shipped with the repository"
    domain = text.rpartition("@")[2]
    if _NAME.fullmatch(domain) and "." in domain and RESERVED_NAME.search(domain):
        return f"{text} is under a reserved example domain, not a real name"
    return None


def _walk(value: Any, path: KeyPath) -> list[tuple[KeyPath, str]]:
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in _walk(v, (*path, str(k)))]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in _walk(v, (*path, i))]
    why = reason(value)
    return [(path, why)] if why else []


def stack_environment(config: dict[str, Any], stack: str) -> str:
    """The environment a stack file declares: ilag:environment, else the stack name's suffix,
    else prod (the same rule as the settings reader)."""
    declared = config.get("ilag:environment")
    if isinstance(declared, str) and declared:
        return declared
    return stack.partition("-")[2] or PRODUCTION


def stack_file_problems(path: Path, label: str | None = None) -> list[Problem]:
    """Placeholders left in one stack file, each with its line, key and fix."""
    try:
        data, lines = yamlsource.load(path)
    except yamlsource.YamlSourceError as exc:
        return [exc.problem]
    config = data.get("config") if isinstance(data, dict) else None
    if not isinstance(config, dict):
        return []
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    problems = []
    for key_path, why in _walk(config, ("config",)):
        key = format_path(key_path[1:])
        nested = "--path " if len(key_path) > 2 else ""
        problems.append(
            Problem(
                label or str(path),
                key,
                why,
                f"set the real value: pulumi config set {nested}'{key}' <value> -s {stack}",
                line_of(lines, key_path),
            )
        )
    return problems


def production_stack_files(root: Path) -> list[Path]:
    """The stack files under root whose environment is production."""
    found = []
    for path in sorted(root.glob(STACK_FILES)):
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        try:
            data, _ = yamlsource.load(path)
        except yamlsource.YamlSourceError:
            found.append(path)  # unreadable: its problems say so
            continue
        config = data.get("config") if isinstance(data, dict) else None
        if stack_environment(config if isinstance(config, dict) else {}, stack) == PRODUCTION:
            found.append(path)
    return found


def production_stack_problems(root: Path) -> list[Problem]:
    """Placeholders in every production stack file of the repository at root."""
    return [
        p
        for path in production_stack_files(root)
        for p in stack_file_problems(path, str(path.relative_to(root)))
    ]
