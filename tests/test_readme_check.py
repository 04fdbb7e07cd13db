"""The README check's own rules (the check itself clones and runs everything: ``.ci/run``)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("readme_check", ROOT / "tools" / "readme_check.py")
readme_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme_check)


def test_the_readme_marks_every_block_the_check_follows():
    blocks = readme_check.blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert {"quick-start", "activate", "cli-session", "recipe", "recipe-output"} <= set(blocks)
    assert blocks["quick-start"].splitlines() == ["python3 dev.py studio", "python3 dev.py test"]


_FILE = re.compile(r"[\w./-]+\.(?:sigma|h5|png|csv|onnx)\b")


def test_every_file_the_cli_session_reads_is_made_by_an_earlier_command():
    session = readme_check.blocks((ROOT / "README.md").read_text(encoding="utf-8"))["cli-session"]
    made: list[str] = []
    for command, output in readme_check.session_steps(session):
        written = re.findall(r"(?:^sigma new|-o|--onnx) (\S+)", command)
        for name in set(_FILE.findall(command)) - set(written):
            assert any(m.endswith(name) for m in made), f"{command!r} reads {name}: nothing made it before"
        made += written + _FILE.findall("\n".join(output))
        for numbers in re.findall(r"write_digit_images\(\[([\d, ]+)\]", command):
            made += [f"digit{n}.png" for n in re.findall(r"\d+", numbers)]
    assert "digit42.png" in made and "predictions.csv" in made


@pytest.mark.parametrize(
    ("shown", "actual", "ok"),
    [
        (["epoch 1  (0.18 s)"], ["epoch 1  (12.50 s)"], True),
        (["a,b,..."], ["a,b,c,d"], True),
        (["x", "...", "z"], ["x", "1", "2", "z"], True),
        (["x", "...", "z"], ["x", "z"], True),
        (["loss 0.1457"], ["loss 0.1458"], False),
        (["x"], ["x", "extra"], False),
    ],
)
def test_matching_rules(shown, actual, ok):
    if ok:
        readme_check.match_lines(shown, actual, "t")
    else:
        with pytest.raises(readme_check.Mismatch):
            readme_check.match_lines(shown, actual, "t")
