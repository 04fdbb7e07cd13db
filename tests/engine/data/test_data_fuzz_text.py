"""Property tests of the text importers (CSV/TSV tables and text files): generated and mutated files
in many encodings end, within a time and memory limit, in a dataset or a ``DataImportError``."""

from __future__ import annotations

import random

import pytest
from fuzz_targets import ALLOWED, DISK_BUDGET, folder_bytes, import_file
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzbox import Sandbox, Tally, family_sizes, fuzz_settings, mutated

ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "ascii")

ODD = ["", "NA", "n/a", "?", "-", "null", "1e39", "-1e400", "nan", "inf", "0x10", "1_000", "3,5", " 7 "]
WORDS = ["cat", "dog", "Zoë", "naïve", "日本", 'a"b', "x,y", "line\nbreak", "\t", "\x00", "ü" * 40]


def _cell(rng: random.Random, kind: int) -> str:
    """One cell; ``kind`` biases the column: 0 integers, 1 floats, 2 words, 3 anything."""
    roll = rng.random()
    if kind == 0 and roll < 0.9:
        return str(rng.randint(0, 4))
    if kind == 1 and roll < 0.9:
        return repr(rng.uniform(-1e6, 1e6))
    if kind == 2 and roll < 0.9:
        return rng.choice(WORDS[:5])
    if roll < 0.5:
        return rng.choice(ODD + WORDS)
    return "".join(chr(rng.randint(1, 0x2FFF)) for _ in range(rng.randint(0, 6)))


@st.composite
def tables(draw) -> bytes:
    # Structure is drawn by hypothesis; cell contents come from a seeded generator (drawing every
    # cell through hypothesis made generation ten times slower than the import it tests).
    width = draw(st.sampled_from([1, 2, 2, 3, 3, 4, 5]))
    rows = draw(st.integers(0, 40))
    rng = random.Random(draw(st.integers(0, 2**32)))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    kinds = [rng.randint(0, 3) for _ in range(width)]
    header = [rng.choice(["a", "b", "label", "target", "x", "", "名前", "1"]) for _ in range(width)]
    lines = [header] if draw(st.booleans()) else []
    ragged = draw(st.sampled_from([0.0, 0.0, 0.05, 0.5]))
    for _ in range(rows):
        n = rng.randint(0, width + 2) if rng.random() < ragged else width
        lines.append([_cell(rng, kinds[j % width]) for j in range(n)])
    quote = draw(st.booleans())
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))

    def field(c: str) -> str:
        return '"' + c.replace('"', '""') + '"' if quote or delimiter in c or '"' in c else c

    text = eol.join(delimiter.join(field(c) for c in line) for line in lines) + eol
    encoding = draw(st.sampled_from(ENCODINGS))
    data = text.encode(encoding, errors="replace")
    return draw(mutated(data)) if draw(st.booleans()) else data


csv_options = st.fixed_dictionaries(
    {},
    optional={
        "on_error": st.sampled_from(["raise", "skip"]),
        "targets": st.sampled_from(["auto", None, 0, -1, "label", "a"]),
        "target_kind": st.sampled_from(["auto", "class", "regression"]),
        "missing": st.sampled_from(["drop", "fill"]),
        "header": st.sampled_from(["auto", True, False]),
    },
)


@st.composite
def texts(draw) -> bytes:
    rng = random.Random(draw(st.integers(0, 2**32)))
    top = draw(st.sampled_from([0x7F, 0xFF, 0x2FFF, 0x10FFFF]))
    text = "".join(chr(rng.randint(1, top)) for _ in range(draw(st.integers(0, 600))))
    encoding = draw(st.sampled_from(("utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16")))
    data = text.encode(encoding, errors="replace")
    return draw(mutated(data)) if draw(st.booleans()) else data


text_options = st.fixed_dictionaries(
    {},
    optional={
        "sequence_length": st.integers(1, 64),
        "stride": st.integers(1, 8),
        "on_error": st.sampled_from(["raise", "skip"]),
    },
)


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    sandbox = Sandbox(import_file)
    yield sandbox, tmp_path_factory.mktemp("fuzz-text")
    sandbox.close()


def _family(box, cases: int, name: str, suffix: str, files, options):
    sandbox, folder = box
    tally = Tally(name, ALLOWED)
    cache = folder / f"cache-{name}"
    cache.mkdir(exist_ok=True)

    @fuzz_settings(cases)
    @given(data=files, opts=options)
    def case(data, opts):
        path = folder / f"case{suffix}"
        path.write_bytes(data)
        tally.check(sandbox.run(str(path), str(cache), opts), f"{opts} on {data[:200]!r}")
        assert folder_bytes(cache) <= DISK_BUDGET

    case()
    print(tally.summary())
    assert tally.total >= cases


@pytest.mark.parametrize("cases", family_sizes())
def test_csv_fuzz(box, cases):
    _family(box, cases, "csv", ".csv", tables(), csv_options)


@pytest.mark.parametrize("cases", family_sizes())
def test_tsv_and_text_fuzz(box, cases):
    _family(box, cases // 2, "tsv", ".tsv", tables(), csv_options)
    _family(box, cases, "text", ".txt", texts(), text_options)
