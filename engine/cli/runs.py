"""``sigma runs``: the table of a project's recorded runs (the studio's run table, as text or CSV)."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.cli.errors import EXIT_OK, BadInput
from engine.cli.loading import say

__all__ = ["cmd_runs"]


def cmd_runs(args) -> int:
    from engine.runs import list_runs, run_table, runs_dir

    project = Path(args.project)
    if not project.is_file():
        raise BadInput(f"{project}: file not found")
    table = run_table(list_runs(project))
    if args.csv:
        if args.csv == "-":
            table.write_csv(sys.stdout)
        else:
            with open(args.csv, "w", encoding="utf-8", newline="") as fh:
                table.write_csv(fh)
            print(f"wrote {len(table.rows)} run(s) to {args.csv}", file=sys.stderr)
        return EXIT_OK
    if not table.rows:
        say(f"{project}: no runs recorded yet (in {runs_dir(project)}); train with: sigma train {project}")
        return EXIT_OK
    for line in table.lines():
        say(line)
    return EXIT_OK
