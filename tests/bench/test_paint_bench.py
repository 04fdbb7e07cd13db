"""``python -m bench paint``: one epoch of each cat painter, through the real projects, gives a table."""

import json

import pytest

from bench import paint_bench


@pytest.mark.slow
def test_one_epoch_each_gives_records_and_a_table(tmp_path, capsys):
    assert paint_bench.main(["--seconds", "0", "--json", str(tmp_path / "paint.json")]) == 0
    records = json.loads((tmp_path / "paint.json").read_text())["records"]
    assert [r["network"] for r in records] == ["old: ReLU on (x, y)", "new: Fourier features"]
    assert all(r["epochs"] == 1 and r["iterations"] == 16 and r["train_cpu_s"] > 0 for r in records)
    assert all(r["final_psnr_db"] is not None for r in records)
    table = capsys.readouterr().out
    assert "30 dB wall / cpu (epochs)" in table and "new: Fourier features" in table
