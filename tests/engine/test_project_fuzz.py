"""Property tests of the project loader: template projects with fields replaced by generated JSON,
deep nesting, huge numbers, other encodings, then bit flips and truncation. Each case ends, within a
time and memory limit, in a project (checked against the machine too) or a ``ProjectError``."""

from __future__ import annotations

import json
import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import templates
from engine.project import Project
from engine.project_checks import check_runnable
from tests.fuzzbox import Sandbox, Tally, family_sizes, fuzz_settings, mutated

ALLOWED = ("engine.project_checks.ProjectError",)
BASES = [templates.digits_project().to_dict(), templates.cat_project().to_dict()]

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=10),
        st.sampled_from(["sample:digits", "sample:nope", "/dev/zero", "flip", "os.system", "minmax", "adam"]),
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _paths(doc, prefix=()):
    """Every (path, value) in a document, iteratively."""
    out, stack = [], [(prefix, doc)]
    while stack:
        path, value = stack.pop()
        out.append(path)
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
    return out


def _set(doc, path, value) -> None:
    where = doc
    for key in path[:-1]:
        where = where[key]
    where[path[-1]] = value


@st.composite
def project_files(draw) -> bytes:
    doc = json.loads(json.dumps(BASES[draw(st.integers(0, len(BASES) - 1))]))
    rng = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(0, 3))):
        path = rng.choice(_paths(doc)[1:])
        if draw(st.integers(0, 5)) == 0:
            value = f"__deep_{rng.randint(50, 3000)}__"  # written out as nested lists below
        else:
            value = draw(json_values)
        _set(doc, path, value)
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 2])))
    # Deep nesting and long numbers are written as text: json.dumps itself would recurse or refuse.
    text = re.sub(r'"__deep_(\d+)__"', lambda m: "[" * int(m.group(1)) + "]" * int(m.group(1)), text)
    if draw(st.integers(0, 5)) == 0:
        text = text.replace('"seed": 0', '"seed": ' + "7" * draw(st.integers(1, 6000)), 1)
    data = text.encode(draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"])), "replace")
    return draw(mutated(data)) if draw(st.booleans()) else data


def load_and_check(path: str):
    project = Project.load(path)
    check_runnable(project)
    return project.name


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    sandbox = Sandbox(load_and_check)
    yield sandbox, tmp_path_factory.mktemp("fuzz-project")
    sandbox.close()


@pytest.mark.parametrize("cases", family_sizes())
def test_project_loader_fuzz(box, cases):
    sandbox, folder = box
    tally = Tally("project", ALLOWED)

    @fuzz_settings(cases)
    @given(data=project_files())
    def case(data):
        path = folder / "case.sigma.json"
        path.write_bytes(data)
        tally.check(sandbox.run(str(path)), repr(data[:300]))

    case()
    print(tally.summary())
    assert tally.total >= cases
