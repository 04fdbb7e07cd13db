"""``sigma runs``: the table of a project's recorded runs (the studio's run table, as text or CSV), with
each run's live state; ``sigma pause|resume|step|stop|checkpoint|set RUN_FOLDER``: steer a run through
its control folder (:mod:`engine.runs.control`); ``sigma sweep``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from engine.cli.errors import EXIT_OK, BadInput
from engine.cli.loading import say

__all__ = ["cmd_runs", "cmd_sweep", "cmd_control"]


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


# ---------------------------------------------------------------------------------------------- steering
def _set_values(texts: list[str]) -> dict:
    from engine.cli.errors import EXIT_USAGE, CliError

    values = {}
    for text in texts:
        name, sep, value = text.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            values[name.strip()] = float(value)
        except ValueError:
            raise CliError(f"expected NAME=NUMBER (e.g. lr=0.01), got {text!r}", EXIT_USAGE) from None
    return values


def cmd_control(args) -> int:
    """``sigma pause|resume|step|stop|checkpoint|set RUN_FOLDER``: write the command, then wait (up to
    ``--wait`` seconds) for the run's acknowledgement and print it."""
    from engine.cli.errors import EXIT_FAILURE, EXIT_USAGE, CliError
    from engine.runs import ControlError, RunError, send_control
    from engine.runs.eventlog import EventLogReader
    from engine.runs.live import live_state

    folder = Path(args.run)
    values = _set_values(args.values) if args.command == "set" else {}
    if args.command == "step":
        values = {"n": args.n}
    try:
        ident = send_control(folder, args.command, by=f"sigma {args.command}", **values)
    except ControlError as exc:
        usage = args.command == "set" or "unknown command" in str(exc)
        raise CliError(str(exc), EXIT_USAGE if usage else EXIT_FAILURE) from None
    except RunError as exc:
        raise BadInput(str(exc)) from None
    name = folder.resolve().name
    if args.wait <= 0:
        say(f"{name}: {args.command} sent")
        return EXIT_OK
    log = EventLogReader(folder / "events")
    deadline = time.monotonic() + args.wait
    while True:
        for record in log.read_new():
            fields = record.get("e") if isinstance(record.get("e"), dict) else {}
            if record.get("k") == "control" and fields.get("id") == ident:
                message = f"{name}: {args.command} {fields.get('outcome')} at iteration {record.get('at')}"
                message += f": {fields.get('message')}"
                if fields.get("outcome") != "applied":
                    raise CliError(message, EXIT_FAILURE)
                say(message)
                return EXIT_OK
        if time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    from engine.runs import open_run

    record = open_run(folder)
    state = live_state(record.status, record.meta)
    raise CliError(
        f"{name}: no acknowledgement within {args.wait:g} s (the run is {state}); the command waits in "
        f"{folder / 'control'} and applies when the run reads it",
        EXIT_FAILURE,
    )


# ---------------------------------------------------------------------------------------------- sweep
def cmd_sweep(args) -> int:
    from engine.cli.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE, CliError
    from engine.project import Project
    from engine.runs import list_runs, run_table
    from engine.runs.sweep import (
        SweepError,
        create_sweep,
        list_sweeps,
        load_sweep,
        parse_axis,
        remaining_trials,
        run_sweep,
    )

    project = Project.load(args.project)
    try:
        if args.resume is not None:
            if args.grid:
                raise CliError("give either --grid (a new sweep) or --resume (an unfinished one)", EXIT_USAGE)
            sweeps = list_sweeps(project.path)
            if args.resume == "last":
                if not sweeps:
                    raise BadInput(f"{args.project}: no sweep to resume")
                path = sweeps[-1]
            else:
                path = next((p for p in sweeps if p.stem == args.resume or p.name == args.resume), None)
                if path is None:
                    names = ", ".join(p.stem for p in sweeps) or "none"
                    raise BadInput(f"{args.project}: no sweep {args.resume!r} (sweeps: {names})")
        else:
            if not args.grid:
                raise CliError("give at least one --grid KEY=V1,V2 (or --resume)", EXIT_USAGE)
            axes = [parse_axis(text) for text in args.grid]
            path = create_sweep(project, axes, random_count=args.random, seed=args.seed)
        doc = load_sweep(path)
        todo = remaining_trials(path)
    except SweepError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    total = len(doc["trials"])
    say(f"{doc['id']}: {total} trial(s), {len(todo)} to run, {args.parallel} at a time (in {path.parent})")
    values = {t["index"]: t["values"] for t in doc["trials"]}

    def told(index, state):
        shown = ", ".join(f"{k}={v}" for k, v in values[index].items())
        say(f"trial {index + 1}/{total} {state}: {shown}")

    import threading

    stop = threading.Event()
    done = threading.Event()
    outcome: list = []

    def work():
        try:
            outcome.extend(run_sweep(path, parallel=args.parallel, stop=stop, on_trial=told))
        finally:
            done.set()

    worker = threading.Thread(target=work, name="sigma-sweep", daemon=True)
    worker.start()
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        stop.set()
        done.wait(30)
        left = len(remaining_trials(path))
        again = f"sigma sweep {args.project} --resume {doc['id']}"
        say(f"interrupted: {left} trial(s) left; continue with: {again}")
        return EXIT_INTERRUPTED
    records = [r for r in list_runs(project.path) if (r.meta.get("sweep") or {}).get("id") == doc["id"]]
    for line in run_table(records).lines():
        say(line)
    failed = [index for index, code in outcome if code != 0]
    if failed:
        logs = path.with_suffix("")
        which = ", ".join(str(i + 1) for i in failed)
        raise CliError(f"{len(failed)} trial(s) failed ({which}); see {logs}/trial-*.log", EXIT_FAILURE)
    return EXIT_OK
