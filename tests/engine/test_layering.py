"""The engine never imports Qt or the studio (design contract), checked two ways."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("PySide6", "pyqtgraph", "studio", "PyQt5", "PyQt6", "shiboken6", "superqt")


def test_engine_sources_import_no_qt_or_studio():
    offenders = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in FORBIDDEN:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_engine_imports_where_pyside6_is_absent():
    # Make PySide6 and pyqtgraph unimportable in a fresh interpreter, then import every engine module.
    code = (
        "import sys, pkgutil, importlib\n"
        "for m in ('PySide6', 'pyqtgraph', 'shiboken6'): sys.modules[m] = None\n"
        "import engine\n"
        "for info in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    if info.name.endswith('__main__'): continue\n"
        "    importlib.import_module(info.name)\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6.', 'pyqtgraph.', 'studio'))]\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")


def test_import_linter_contract():
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        import shutil

        found = shutil.which("lint-imports")
        if found is None:
            import pytest

            pytest.skip("import-linter is not installed (pip install -e .[test])")
        lint = Path(found)
    out = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
