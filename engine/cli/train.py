"""``sigma train`` and ``sigma eval``: a project's run, built by :func:`engine.run.build_run`."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path

from engine.cli.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, BadInput, CliError
from engine.cli.loading import is_checkpoint, load_project, restore, say
from engine.events import LogMessage
from engine.hooks.saver import final_saver
from engine.kernels import SOURCE as KERNELS_SOURCE

__all__ = ["cmd_train", "cmd_eval"]


# ---------------------------------------------------------------------------------------------- train
def describe_policy(policy: dict) -> str:
    """The checkpoint policy in words: "every 1 epoch(s) (at most one every 5 s) and at the end"."""
    from engine.settings import TRAINING_DEFAULTS

    every = int(policy.get("every_epochs") or 0)
    if not every:
        return "at the end"
    floor = policy.get("min_seconds")
    floor = float(TRAINING_DEFAULTS["checkpoint"]["min_seconds"] if floor is None else floor)
    best = " (best only)" if policy.get("best_only") else ""
    limit = f" (at most one every {floor:g} s)" if floor > 0 else ""
    return f"every {every} epoch(s){best}{limit} and at the end"


def _records(args) -> bool:
    """Whether this process records the run in a run folder: not with --no-record, and only rank 0 of
    an MPI run (the rank is known from the launcher's environment before MPI starts)."""
    if getattr(args, "no_record", False):
        return False
    if getattr(args, "operator", "auto") == "mpi":
        for name in ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"):
            if os.environ.get(name, "0") != "0":
                return False
    return True


def _checkpoint_dir(project, args) -> Path | None:
    """Where checkpoints go: --checkpoint-dir, else the project's setting, else the run folder's
    ``checkpoints`` (None here: :func:`engine.run.build_run` makes the folder), else next to the project."""
    if args.no_checkpoints:
        return None
    if args.checkpoint_dir:
        return Path(args.checkpoint_dir).resolve()
    settings = project.training.get("checkpoint") or {}
    if settings.get("directory"):
        return project.resolve(settings["directory"])
    if _records(args):
        return None
    stem = Path(project.path).stem if project.path else "project"
    return ((Path(project.path).parent if project.path else Path.cwd()) / f"{stem}-checkpoints").resolve()


def _fit_interruptibly(run, progress) -> bool:
    """Train on a worker thread so that Ctrl-C reaches this one; returns False when interrupted.

    The first Ctrl-C asks the operator to stop at the next iteration boundary (the run ends cleanly,
    its stop hooks run); a second one gives up waiting.
    """
    failure: list[BaseException] = []
    done = threading.Event()

    def target():
        try:
            run.fit()
        except BaseException as exc:  # handed to the main thread, which reports it
            failure.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=target, name="sigma-train", daemon=True)
    worker.start()
    interrupted = False
    # Wait on an Event, not Thread.join: a join interrupted by Ctrl-C can leave the thread looking
    # finished while it still runs (CPython gh-90882), and a short timeout keeps Ctrl-C responsive on
    # Windows too.
    while not done.is_set():
        try:
            done.wait(0.2)
        except KeyboardInterrupt:
            if interrupted:
                raise
            interrupted = True
            if progress is not None:
                progress.close()
            print(
                "sigma train: stopping after this iteration (Ctrl-C again to quit at once)",
                file=sys.stderr,
                flush=True,
            )
            run.trainer.operator.stop("interrupted by Ctrl-C")
    if failure:
        raise failure[0]
    return not interrupted


def _print_quiet_warning(event) -> None:
    """With --quiet (no progress printer): the health findings and the kernels' note, on stderr."""
    if event.level == "warning" and (event.message.startswith("health") or event.source == KERNELS_SOURCE):
        print(f"warning: {event.message}", file=sys.stderr, flush=True)


def _start(run, args) -> str:
    """The operator the command asks for, and the checkpoint it resumes from; returns the resume's
    sentence for the log (a branch on edited data), or ""."""
    trainer = run.trainer
    kind = getattr(args, "operator", "auto")
    if kind != "auto":
        trainer.use_operator(kind, workers=args.workers or (1 if kind == "mpi" else None))
    writer = getattr(trainer.operator, "is_writer", True)
    if kind == "mpi" and not writer and not getattr(args, "no_record", False):
        from engine.runs import RunController

        trainer.add_hook(RunController())  # receives the values rank 0's controller broadcasts
    return restore(run, args.resume) if args.resume else ""


def cmd_train(args) -> int:
    from engine.cli.progress import ConsoleProgress, format_metrics
    from engine.run import build_run

    project = load_project(args.project)
    if args.epochs:
        project.training["epochs"] = args.epochs
    folder = _checkpoint_dir(project, args)
    settings = dict(project.training.get("checkpoint") or {})
    if getattr(args, "checkpoint_min_seconds", None) is not None:
        settings["min_seconds"] = args.checkpoint_min_seconds
    if args.no_checkpoints:
        settings["every_epochs"] = 0
        settings["directory"] = None
    elif folder is not None:
        settings["directory"] = str(folder)
    project.training["checkpoint"] = settings
    health = None
    if getattr(args, "health", False) or getattr(args, "health_every", None):
        from engine.hooks import LayerHealth, TimeStep

        every = getattr(args, "health_every", None)
        health = LayerHealth(TimeStep(every) if every else None)
    run = build_run(
        project,
        backend=args.backend,
        workers=args.workers,
        checkpoint_dir=folder,
        extra_hooks=() if health is None else (health,),
        record=_records(args),
        parent_checkpoint=args.resume,
        origin="sigma train",
        kernels=getattr(args, "kernels", None),
    )
    if not args.no_checkpoints:
        folder = run.checkpoint_dir
    elif final_saver(run.trainer) is not None:  # a recorded run has a checkpoint folder all the same
        run.trainer.hooks.remove(final_saver(run.trainer))
    trainer = run.trainer
    try:  # an operator that cannot start leaves no empty run folder behind (a refused checkpoint: neither)
        note = _start(run, args)
    except BaseException:
        run.discard()
        raise
    writer = getattr(trainer.operator, "is_writer", True)  # MPI: rank 0 alone prints and writes
    args.quiet = args.quiet or not writer
    if note and not args.quiet:
        say(note)
    if trainer.epoch >= run.epochs:
        run.discard()  # nothing was trained: no run to keep
        say(
            f"nothing to do: {trainer.epoch} epoch(s) already done of {run.epochs}; pass --epochs N to train "
            "further"
        )
        return EXIT_OK
    net = trainer.network
    sizes = f"{len(run.train_data)} training samples"
    if run.validation_data is not None:
        sizes += f", {len(run.validation_data)} validation"
    start = f", resuming at epoch {trainer.epoch + 1}" if args.resume else ""
    kernels = ", compiled kernels" if run.kernels is not None and run.kernels.used == "compiled" else ""
    if not args.quiet:
        say(
            f"{project.name}: {net.param_count():,} parameters, {sizes}, "
            f"backend {trainer.backend.name}{kernels}, epochs {trainer.epoch + 1}-{run.epochs}{start}"
        )
        edits = (project.dataset or {}).get("edits") or []
        if edits:
            counts = {a: sum(e.get("action") == a for e in edits) for a in ("relabel", "exclude", "check")}
            say(
                f"sample edits: {counts['relabel']} relabelled, {counts['exclude']} excluded "
                f"({counts['check']} marked to check later); the data files are unchanged"
            )
        if run.folder is not None:
            say(f"recording: {run.folder.name} in {run.folder.parent} (see: sigma runs {args.project})")
        if folder is not None:
            say(f"checkpoints: {describe_policy(settings)}, in {folder}")
    progress = None if args.quiet else ConsoleProgress(trainer.events, epochs=run.epochs)
    if progress is None and writer:  # --quiet keeps the warnings: health findings, the kernels' note
        trainer.events.subscribe(_print_quiet_warning, LogMessage)
    with progress or contextlib.nullcontext():
        finished = _fit_interruptibly(run, progress)
    # The run's saver wrote last.h5 as the run ended (engine.run_hooks.checkpoints): the one final save.
    saver = final_saver(trainer) if folder is not None and writer else None
    last = saver.final_path if saver is not None else None
    if not finished:
        say(
            f"interrupted at epoch {trainer.epoch}, iteration {trainer.iteration}"
            + (f"; checkpoint: {last}" if last else "")
        )
        return EXIT_INTERRUPTED
    if not args.quiet:
        final = trainer.history[-1] if trainer.history else {}
        metrics = {k: v for k, v in final.items() if k not in ("epoch", "iteration")}
        say(f"done: {trainer.epoch} epoch(s), {trainer.iteration} iterations")
        say(f"final: {format_metrics(metrics)}")
        if health is not None and health.last is not None:
            findings = health.last.findings
            say(
                f"health at iteration {health.last.iteration}: "
                + ("; ".join(f.message for f in findings) if findings else "no findings")
            )
        if last:
            say(f"checkpoint: {last}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- eval
def cmd_eval(args) -> int:
    from engine.cli.progress import format_metrics
    from engine.run import build_run

    if is_checkpoint(args.source):
        if not args.project:
            raise CliError(
                "a checkpoint alone holds no data to evaluate on: add --project PROJECT", EXIT_USAGE
            )
        project_path, ckpt = args.project, args.source
    else:
        project_path, ckpt = args.source, args.checkpoint
    project = load_project(project_path)
    if ckpt is None and project.last_checkpoint:
        ckpt = str(project.resolve(project.last_checkpoint))
    if ckpt is None:
        raise BadInput(
            f"{project_path}: the project has no trained checkpoint yet; give one with --checkpoint"
        )
    run = build_run(project, backend=args.backend, workers=1, record=False)
    restore(run, ckpt)
    sets = [("validation", run.validation_data), ("test", getattr(run, "test_data", None))]
    sets = [(name, data) for name, data in sets if data is not None and len(data)]
    if not sets:
        sets = [("training", run.train_data)]
    say(f"{project.name}: checkpoint {ckpt} (epoch {run.trainer.epoch}, iteration {run.trainer.iteration})")
    from engine.ops import compiled

    with compiled.using(run.kernels.used):  # the project's kernels (the same results; faster on CNNs)
        for name, data in sets:
            metrics = run.trainer.evaluate(data)
            say(f"{name} ({len(data)} samples): {format_metrics(metrics)}")
    return EXIT_OK
