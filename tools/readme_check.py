#!/usr/bin/env python3
"""Follow the README as a newcomer would, in a fresh clone, and fail on any difference.

    python3 tools/readme_check.py [--keep WORK_DIR] [--skip-tests]

Steps (each one is a block of README.md marked by an HTML comment ``<!-- readme-check: NAME -->`` on
the line before its fence, so sections can move without breaking the check):

1. ``git clone`` this checkout (its committed HEAD) into a work folder;
2. ``quick-start``: the Linux commands, literally, in the clone. ``python3 dev.py studio`` starts the
   studio (offscreen here); it passes when the window is still up 20 s after the install finished and
   it printed nothing after the install but the offscreen plugin's notes ("This plugin does not
   support ..."). ``python3 dev.py test`` runs the suite and
   must exit 0 (``--skip-tests`` does its set-up only, for a quick local check of the rest);
3. ``activate``: the clone's ``.venv`` is put first on PATH as ``source .venv/bin/activate`` would;
4. ``cli-session``: every ``$ command`` runs with bash in a new empty folder, in order; its output
   (stdout and stderr together) must match the lines shown under it;
5. ``recipe``: the scripting recipe runs as ``python recipe.py`` in another empty folder; its output
   must match the ``recipe-output`` block.

Matching, line by line: ``(0.18 s)``-style timings match any time; the session folder is written as
``/tmp/session``; a shown line ending in ``...`` matches any line starting with what precedes it; a
line that is only ``...`` matches any number of lines. Everything else must be equal.
Run by ``.ci/run``. Exit status 0 when every step matched, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = time.monotonic()
SESSION = "/tmp/session"
_TIMING = re.compile(r"\(\d+(\.\d+)? s\)")


def say(text: str) -> None:
    print(f"[readme] {text} ({time.monotonic() - START:.0f} s)", flush=True)


class Mismatch(Exception):
    pass


def blocks(readme: str) -> dict[str, str]:
    """The marked code blocks of the README, by name."""
    found = {}
    pattern = re.compile(r"<!-- readme-check: ([\w-]+) -->\s*\n```[\w-]*\n(.*?)\n```", re.S)
    for match in pattern.finditer(readme):
        found[match.group(1)] = match.group(2)
    return found


def _line_matches(shown: str, actual: str) -> bool:
    if shown.endswith("...") and actual.startswith(shown[:-3]):
        return True
    return _TIMING.sub("(T s)", shown) == _TIMING.sub("(T s)", actual)


def match_lines(shown: list[str], actual: list[str], what: str) -> None:
    """Raise Mismatch naming the first line that differs (``...`` alone skips any lines)."""

    def walk(i: int, j: int) -> bool:
        while i < len(shown):
            if shown[i] == "...":
                return any(walk(i + 1, k) for k in range(j, len(actual) + 1))
            if j >= len(actual) or not _line_matches(shown[i], actual[j]):
                return False
            i, j = i + 1, j + 1
        return j == len(actual)

    if not walk(0, 0):
        diff = "\n".join(f"  shown : {s}" for s in shown) + "\n" + "\n".join(f"  actual: {a}" for a in actual)
        raise Mismatch(f"{what}: the output differs from the README\n{diff}")


def session_steps(block: str) -> list[tuple[str, list[str]]]:
    """``[(command, shown output lines), ...]`` from a ``$ command`` transcript."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        else:
            raise Mismatch(f"the transcript starts with output, not a command: {line!r}")
    return steps


def run_session(block: str, folder: Path, env: dict) -> None:
    folder.mkdir()
    for command, shown in session_steps(block):
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
        )
        actual = done.stdout.replace(str(folder), SESSION).splitlines()
        if done.returncode != 0:
            raise Mismatch(f"$ {command} exited {done.returncode}:\n" + "\n".join(actual))
        match_lines(shown, actual, f"$ {command}")
        say(f"matched: $ {command[:70]}")


def start_studio(command: str, clone: Path, env: dict) -> None:
    """Run the README's studio command; it must install, start, and stay up saying nothing.

    Only what the studio prints counts: pip's notes during the install (before the install marker
    appears) are the package index's business.
    """
    proc = subprocess.Popen(
        ["bash", "-c", command],
        cwd=clone,
        env={**env, "QT_QPA_PLATFORM": "offscreen"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[tuple[float, str]] = []
    reader = threading.Thread(target=lambda: lines.extend((time.monotonic(), ln) for ln in proc.stdout))
    reader.start()
    marker = clone / ".venv" / ".sigma-installed-base"
    deadline = time.monotonic() + 900
    up_since = None
    while time.monotonic() < deadline and proc.poll() is None:
        if up_since is None and marker.exists():
            up_since = time.monotonic()
        if up_since is not None and time.monotonic() - up_since > 20:
            break
        time.sleep(1)
    code = proc.poll()
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=60)
    reader.join(timeout=60)
    output = "".join(line for _, line in lines)
    if code is not None:
        raise Mismatch(f"{command} exited {code} instead of showing the studio:\n{output}")
    if up_since is None:
        raise Mismatch(f"{command} did not finish installing within 15 minutes:\n{output}")
    problems = [
        line.rstrip()
        for when, line in lines
        if when >= up_since and line.strip() and not line.startswith("This plugin does not support")
    ]
    if problems:
        raise Mismatch(f"{command} printed:\n" + "\n".join(problems))


def check(work: Path, skip_tests: bool) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    marked = blocks(readme)
    for name in ("quick-start", "activate", "cli-session", "recipe", "recipe-output"):
        if name not in marked:
            raise Mismatch(f"README.md has no block marked <!-- readme-check: {name} -->")
    clone = work / "sigma-studio"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=300)
    head = subprocess.run(
        ["git", "-C", str(clone), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    say(f"cloned {ROOT} at {head} into {clone}")
    # A newcomer's shell: none of this machine's project settings (CI's own venv, resources).
    env = {k: v for k, v in os.environ.items() if k not in ("SIGMA_VENV", "SIGMA_RESOURCES", "PYTHONPATH")}
    env["SIGMA_STUDIO_HOME"] = str(work / "studio-home")  # autosaves and logs of this check stay here

    for command in [c for c in marked["quick-start"].splitlines() if c.strip()]:
        if "dev.py studio" in command:
            start_studio(command, clone, env)
            say(f"quick start: {command}: the studio is up")
        elif skip_tests:  # the same set-up (test extras) without running the suite
            setup = [sys.executable, "-c", "import dev; dev._ensure('test')"]
            subprocess.run(setup, cwd=clone, env=env, timeout=1800, check=True, stdout=subprocess.DEVNULL)
            say(f"quick start: {command}: set up, suite skipped (--skip-tests)")
        else:
            done = subprocess.run(["bash", "-c", command], cwd=clone, env=env, timeout=1800)
            if done.returncode != 0:
                raise Mismatch(f"{command} exited {done.returncode}")
            say(f"quick start: {command}: passed")

    activate = marked["activate"].strip()
    if activate != "source .venv/bin/activate":
        raise Mismatch(f"the activate block is {activate!r}; this check knows 'source .venv/bin/activate'")
    env["VIRTUAL_ENV"] = str(clone / ".venv")
    env["PATH"] = f"{clone / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    run_session(marked["cli-session"], work / "session", env)
    recipe_dir = work / "recipe"
    recipe_dir.mkdir()
    (recipe_dir / "recipe.py").write_text(marked["recipe"] + "\n", encoding="utf-8")
    done = subprocess.run(
        ["python", "recipe.py"],
        cwd=recipe_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise Mismatch(f"the recipe exited {done.returncode}:\n{done.stdout}")
    match_lines(marked["recipe-output"].splitlines(), done.stdout.splitlines(), "the recipe")
    say("recipe: output matched")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", metavar="WORK_DIR", help="work in this folder and keep it")
    parser.add_argument("--skip-tests", action="store_true", help="leave out 'python3 dev.py test'")
    args = parser.parse_args(argv)
    work = Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="sigma-readme-"))
    if args.keep:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
    try:
        check(work, args.skip_tests)
    except Mismatch as exc:
        print(f"[readme] FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    say("README OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
