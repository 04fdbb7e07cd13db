"""One trial of a sweep, in its own process: ``sigma _sweep-trial SWEEP_FILE INDEX`` (or
``python -m engine.runs.trial SWEEP_FILE INDEX``).

Loads the sweep's project, applies the trial's values, and trains it as a recorded run whose
``run.json`` names the sweep, the trial and its values. Exit 0 when the run finished (or stopped early),
1 with one line on stderr when it failed.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from pathlib import Path


def _die_with_parent() -> None:
    """End this process at once when the sweep's coordinator goes (a killed studio or ``sigma sweep``):
    its run folder then stays unfinished, and resuming the sweep runs the trial again. An orphan that
    trained on would race the trial's rerun."""
    parent = os.getppid()

    def watch():
        while True:
            threading.Event().wait(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="sweep-trial-watchdog", daemon=True).start()


def main(argv: list[str]) -> int:
    from engine import allocator
    from engine.project import Project
    from engine.run import build_run
    from engine.runs.sweep import _project_of, apply_values, load_sweep

    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: sigma _sweep-trial SWEEP_FILE INDEX", file=sys.stderr)
        return 2
    sweep_path, index = Path(argv[0]).resolve(), int(argv[1])
    allocator.tune()
    _die_with_parent()
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # the NaN guard says what went wrong
    try:
        doc = load_sweep(sweep_path)
        trial = next((t for t in doc["trials"] if t["index"] == index), None)
        if trial is None:
            raise ValueError(f"{sweep_path}: no trial {index}")
        project = Project.load(_project_of(sweep_path))
        apply_values(project, trial["values"])
        info = {"sweep": {"id": doc["id"], "trial": index, "values": trial["values"]}}
        run = build_run(project, origin="sigma sweep", run_info=info)
        run.fit()
    except Exception as exc:
        print(f"trial {index}: error: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
