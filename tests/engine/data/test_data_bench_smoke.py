"""The data benchmark runs end to end at small sizes (slow: deselected by default)."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_data_bench_quick(capsys):
    from bench.data_bench import main

    assert main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "records/s" in out and "peak RSS" in out
