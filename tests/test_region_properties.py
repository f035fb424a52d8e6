"""Property-based: every malformed region ends in RegionError with a key path, never a traceback."""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ilag_infra.model import region, yamlsource
from ilag_infra.model.errors import RegionError

REPO = Path(__file__).resolve().parent.parent
BASE, _ = yamlsource.load(REPO / "region.yaml")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def expect_region_error(data: Any) -> RegionError:
    try:
        region.parse(data, {}, Path("region.yaml"))
    except RegionError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.file == "region.yaml" and p.key and p.message
        return exc
    raise AssertionError("malformed region was accepted")


def leaf_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in leaf_paths(v, (*path, k))] or [path]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in leaf_paths(v, (*path, i))] or [path]
    return [path]


def set_at(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _is_network(text: str) -> bool:
    try:
        ipaddress.IPv4Network(text, strict=True)
    except ValueError:
        return False
    return True


def _same_value(kept: Any, given: Any) -> bool:
    """Equal and of the same JSON type; an int where a float is expected is the same number."""
    if isinstance(kept, float) and type(given) is int:
        return kept == given
    if type(kept) is not type(given):
        return False
    if isinstance(given, dict):
        return kept.keys() == given.keys() and all(_same_value(kept[k], given[k]) for k in given)
    if isinstance(given, list):
        return len(kept) == len(given) and all(map(_same_value, kept, given))
    if isinstance(given, float) and given != given:
        return kept != kept  # NaN
    return bool(kept == given)


ALL_PREFIX_PATHS = [p for p in leaf_paths(BASE) if p and str(p[-1]) in ("prefix", "spoke_prefix")]
ANY_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@SETTINGS
@given(
    a=st.sampled_from(ALL_PREFIX_PATHS),
    b=st.sampled_from(ALL_PREFIX_PATHS),
    shrink=st.integers(min_value=0, max_value=8),
)
def test_overlapping_prefixes_are_rejected(
    a: tuple[Any, ...], b: tuple[Any, ...], shrink: int
) -> None:
    assume(a != b)
    data = copy.deepcopy(BASE)
    target: Any = data
    for part in a:
        target = target[part]
    # b becomes a supernet (or the same net) of a: the subtle /16-against-/17 case.
    net = ipaddress.IPv4Network(target)
    wider = net.supernet(prefixlen_diff=min(shrink, net.prefixlen - 8))
    set_at(data, b, str(wider))
    exc = expect_region_error(data)
    assert any("overlaps" in p.message for p in exc.problems), exc


@SETTINGS
@given(path=st.sampled_from(ALL_PREFIX_PATHS), junk=st.text(max_size=25))
def test_broken_cidrs_are_rejected(path: tuple[Any, ...], junk: str) -> None:
    # A valid network by chance is no broken CIDR; the overlap tests cover those.
    assume(not _is_network(junk))
    data = copy.deepcopy(BASE)
    set_at(data, path, junk)
    exc = expect_region_error(data)
    assert any(p.key.endswith(str(path[-1])) for p in exc.problems)


@SETTINGS
@given(i=st.integers(0, 4), j=st.integers(0, 4), field=st.sampled_from(["slug", "kommunenummer"]))
def test_duplicate_slugs_and_numbers(i: int, j: int, field: str) -> None:
    assume(i != j)
    data = copy.deepcopy(BASE)
    data["municipalities"][j][field] = data["municipalities"][i][field]
    exc = expect_region_error(data)
    assert any(f"municipalities[{max(i, j)}].{field}" == p.key for p in exc.problems)


@SETTINGS
@given(path=st.sampled_from(leaf_paths(BASE)), key=st.text(min_size=1, max_size=12))
def test_unknown_keys_are_rejected(path: tuple[Any, ...], key: str) -> None:
    data = copy.deepcopy(BASE)
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    assume(isinstance(parent, dict) and key not in parent)
    parent[key] = "x"
    exc = expect_region_error(data)
    assert any("unknown key" in p.message for p in exc.problems)


@SETTINGS
@given(path=st.sampled_from(leaf_paths(BASE)), value=ANY_VALUE)
def test_any_wrong_value_is_an_input_error_or_kept_as_given(
    path: tuple[Any, ...], value: Any
) -> None:
    data = copy.deepcopy(BASE)
    set_at(data, path, value)
    try:
        loaded = region.parse(data, {}, Path("region.yaml"))
    except RegionError as exc:
        assert exc.problems
        assert all(p.file == "region.yaml" and p.key and p.message for p in exc.problems)
        return
    # Accepted: then the model holds exactly that value, not a coerced stand-in
    # (no "1" for 1, no True for 1, no silently dropped key).
    kept: Any = loaded.model.model_dump(mode="json")
    for part in path:
        kept = kept[part]
    assert _same_value(kept, value), (path, value, kept)


@SETTINGS
@given(value=ANY_VALUE)
def test_any_top_level_is_an_input_error(value: Any) -> None:
    expect_region_error(value)


@SETTINGS
@given(text=st.text(max_size=200))
def test_any_text_as_file_is_an_input_error(text: str) -> None:
    try:
        data, _lines = yamlsource.loads(text, "region.yaml")
    except yamlsource.YamlSourceError as exc:
        assert exc.problem.file == "region.yaml"
        return
    expect_region_error(data)


def _parsed_or_problems(path: tuple[Any, ...], value: Any) -> Any:
    data = copy.deepcopy(BASE)
    set_at(data, path, value)
    try:
        kept: Any = region.parse(data, {}, Path("region.yaml")).model.model_dump(mode="json")
    except RegionError as exc:
        return exc
    for part in path:
        kept = kept[part]
    return kept


def test_numbers_and_flags_take_no_look_alikes() -> None:
    """Every number or flag in region.yaml refuses a string, a bool or null, or keeps it as is."""
    scalars = [p for p in leaf_paths(BASE) if isinstance(_leaf(p), (bool, int, float))]
    assert len(scalars) >= 5
    for path in scalars:
        for value in ("1", True, None):
            got = _parsed_or_problems(path, value)
            if isinstance(got, RegionError):
                assert any(p.key for p in got.problems)
            else:
                assert _same_value(got, value), (path, value, got)


def _leaf(path: tuple[Any, ...]) -> Any:
    node: Any = BASE
    for part in path:
        node = node[part]
    return node
