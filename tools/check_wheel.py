#!/usr/bin/env python3
"""Build the wheel, install it into a clean virtual environment and run it from an unrelated folder.

    python tools/check_wheel.py [WORK_DIR]      (default: a temporary folder, removed afterwards)

Checks, in order, and stops at the first failure with exit status 1:

1. ``python -m build --wheel`` builds ``dist/sigma_studio-*.whl`` (into WORK_DIR, not the checkout);
2. the wheel's top-level packages are exactly ``engine`` and ``studio`` (no ``bench``, no ``resources``
   folder in site-packages; the resources travel as data files to ``<venv>/share/sigma-studio``);
3. ``pip install WHEEL`` into a fresh venv (no ``--system-site-packages``) succeeds;
4. from an empty folder outside the checkout: the installed package imports from the venv, finds its
   resources under ``<venv>/share``, and ``sigma new``, ``sigma train --epochs 1`` and
   ``sigma-studio --smoke`` (offscreen) work, leaving only the project and its checkpoints there.

Run by ``.ci/run``; ``tests/test_wheel.py`` (marked slow) runs it too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = time.monotonic()


def step(text: str) -> None:
    print(f"[wheel] {text} ({time.monotonic() - START:.0f} s)", flush=True)


def fail(text: str) -> None:
    print(f"[wheel] FAILED: {text}", file=sys.stderr, flush=True)
    sys.exit(1)


def run(args, cwd, env=None, timeout=600) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        fail(f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def top_level_names(wheel: Path) -> set[str]:
    """The names a wheel puts directly into site-packages (``*.dist-info`` and ``*.data`` aside)."""
    with zipfile.ZipFile(wheel) as archive:
        names = {name.split("/", 1)[0] for name in archive.namelist()}
    return {n for n in names if not n.endswith((".dist-info", ".data"))}


def check(work: Path) -> None:
    dist = work / "dist"
    step(f"building the wheel into {dist}")
    run([sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT], cwd=work, timeout=900)
    wheels = sorted(dist.glob("sigma_studio-*.whl"))
    if len(wheels) != 1:
        fail(f"expected one sigma_studio wheel in {dist}, found {[w.name for w in wheels]}")
    wheel = wheels[0]
    names = top_level_names(wheel)
    if names != {"engine", "studio"}:
        fail(f"the wheel installs {sorted(names)} into site-packages; expected only engine and studio")
    step(f"{wheel.name}: top-level packages {sorted(names)}")

    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    step(f"installing into the clean venv {env_dir}")
    run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel], cwd=work, timeout=900)

    site = Path(
        run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=work
        ).stdout.strip()
    )
    for unwanted in ("bench", "resources"):
        if (site / unwanted).exists():
            fail(f"{site / unwanted} was installed")

    elsewhere = work / "elsewhere"  # an unrelated folder: no checkout on sys.path
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SIGMA_RESOURCES", "VIRTUAL_ENV")}
    env.update(QT_QPA_PLATFORM="offscreen", SIGMA_STUDIO_HOME=str(work / "studio-home"))
    probe = run(
        [
            python,
            "-c",
            "import engine, studio; from engine.resources import resource_root; "
            "print(engine.__file__); print(studio.__file__); print(resource_root())",
        ],
        cwd=elsewhere,
        env=env,
    ).stdout.split("\n")
    engine_file, studio_file, resources = (Path(p) for p in probe[:3])
    for path in (engine_file, studio_file):
        if site not in path.parents:
            fail(f"{path} is not the installed package (expected under {site})")
    expected = env_dir / "share" / "sigma-studio" / "resources"
    if resources.resolve() != expected.resolve() or not (resources / "samples").is_dir():
        fail(f"resources found at {resources}, expected {expected}")
    step(f"imports from {site}; resources in {resources}")

    sigma = bindir / "sigma"
    out = run([sigma, "new", "digits.sigma"], cwd=elsewhere, env=env).stdout
    step(f"sigma new: {out.strip()}")
    out = run([sigma, "train", "digits.sigma", "--epochs", "1"], cwd=elsewhere, env=env).stdout
    if "done: 1 epoch(s)" not in out:
        fail(f"sigma train did not finish its epoch:\n{out}")
    step("sigma train: " + next(line for line in out.splitlines() if line.startswith("epoch 1/1")))
    out = run([bindir / "sigma-studio", "--smoke", "--iterations", "5"], cwd=elsewhere, env=env).stdout
    if "sigma-studio --smoke: ok" not in out:
        fail(f"sigma-studio --smoke did not report ok:\n{out}")
    step(out.strip().splitlines()[-1])
    left = sorted(p.name for p in elsewhere.iterdir())
    if left != ["digits.sigma", "digits.sigma.runs"]:  # the run folder holds the run's checkpoints
        fail(f"the unrelated folder holds {left}; expected only digits.sigma and its run folder")
    step("wheel OK")


def main(argv: list[str]) -> int:
    if argv:
        work = Path(argv[0]).resolve()
        work.mkdir(parents=True, exist_ok=True)
        check(work)
        return 0
    work = Path(tempfile.mkdtemp(prefix="sigma-wheel-"))
    try:
        check(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
