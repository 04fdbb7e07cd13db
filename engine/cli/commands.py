"""The ``sigma`` subcommands. Each ``cmd_<name>(args) -> exit code`` raises on failure; ``main`` turns the
exception into one line on stderr and an exit code (:mod:`engine.cli.errors`)."""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import sys
import threading
from pathlib import Path

import numpy as np

from engine.cli.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, BadInput, CliError

__all__ = [
    "cmd_train",
    "cmd_eval",
    "cmd_predict",
    "cmd_export",
    "cmd_new",
    "cmd_info",
    "network_from_checkpoint",
]


def _say(*parts) -> None:
    print(*parts, flush=True)


# ---------------------------------------------------------------------------------------------- loading
def _load_project(path):
    from engine.project import Project

    return Project.load(path)


def _is_checkpoint(path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == b"\x89HDF\r\n\x1a\n"
    except OSError:
        return False


def network_from_checkpoint(path):
    """The trained network stored in a checkpoint (spec, parameters and buffers), on the CPU.

    Returns
    -------
    (Network, dict)
        The network and the checkpoint's meta (counters, history, ...).
    """
    from engine import checkpoint
    from engine.network import Network

    content = checkpoint.load(path)
    try:
        net = Network.from_spec(content["spec"])
        net.load_parameters(content["parameters"])
        if content["buffers"]:
            net.load_buffers(content["buffers"])
    except ValueError as exc:  # NetworkError / LayerError: the stored network does not build
        raise BadInput(f"{path}: the stored network cannot be rebuilt ({exc})") from None
    return net, content["meta"]


def _restore(trainer, path) -> None:
    """Restore a checkpoint; a misfit is reported by its first differences (the full list can run to
    pages for another network)."""
    from engine import checkpoint

    try:
        checkpoint.restore(trainer, path)
    except checkpoint.CheckpointError as exc:
        text = str(exc)
        marker = "does not fit this trainer: "
        if marker not in text:
            raise
        problems = text.split(marker, 1)[1].rsplit(" (checkpoint ", 1)[0].split("; ")
        shown = "; ".join(p if len(p) <= 160 else p[:157] + "..." for p in problems[:3])
        more = f"; and {len(problems) - 3} more difference(s)" if len(problems) > 3 else ""
        raise BadInput(f"{path}: the checkpoint does not fit this project: {shown}{more}") from None


# ---------------------------------------------------------------------------------------------- train
def _checkpoint_dir(project, args) -> Path | None:
    """Where checkpoints go: --checkpoint-dir, else the project's setting, else next to the project."""
    if args.no_checkpoints:
        return None
    if args.checkpoint_dir:
        return Path(args.checkpoint_dir).resolve()
    settings = project.training.get("checkpoint") or {}
    if settings.get("directory"):
        return project.resolve(settings["directory"])
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


def cmd_train(args) -> int:
    from engine.cli.progress import ConsoleProgress, format_metrics
    from engine.run import build_run

    project = _load_project(args.project)
    if args.epochs:
        project.training["epochs"] = args.epochs
    folder = _checkpoint_dir(project, args)
    settings = dict(project.training.get("checkpoint") or {})
    if folder is None:
        settings["every_epochs"] = 0
        settings["directory"] = None
    else:
        settings["directory"] = str(folder)
    project.training["checkpoint"] = settings
    run = build_run(project, backend=args.backend, workers=args.workers, checkpoint_dir=folder)
    trainer = run.trainer
    if args.resume:
        _restore(trainer, args.resume)
    if trainer.epoch >= run.epochs:
        _say(
            f"nothing to do: {trainer.epoch} epoch(s) already done of {run.epochs}; pass --epochs N to train "
            "further"
        )
        return EXIT_OK
    net = trainer.network
    sizes = f"{len(run.train_data)} training samples"
    if run.validation_data is not None:
        sizes += f", {len(run.validation_data)} validation"
    start = f", resuming at epoch {trainer.epoch + 1}" if args.resume else ""
    if not args.quiet:
        _say(
            f"{project.name}: {net.param_count():,} parameters, {sizes}, backend {trainer.backend.name}, "
            f"epochs {trainer.epoch + 1}-{run.epochs}{start}"
        )
        if folder is not None:
            every = int(settings.get("every_epochs") or 0)
            _say(f"checkpoints: {f'every {every} epoch(s) and ' if every else ''}at the end, in {folder}")
    progress = None if args.quiet else ConsoleProgress(trainer.events, epochs=run.epochs)
    with progress or contextlib.nullcontext():
        finished = _fit_interruptibly(run, progress)
    last = None
    if folder is not None:
        from engine import checkpoint

        folder.mkdir(parents=True, exist_ok=True)
        last = checkpoint.save(trainer, folder / "last.h5")
    if not finished:
        _say(
            f"interrupted at epoch {trainer.epoch}, iteration {trainer.iteration}"
            + (f"; checkpoint: {last}" if last else "")
        )
        return EXIT_INTERRUPTED
    if not args.quiet:
        final = trainer.history[-1] if trainer.history else {}
        metrics = {k: v for k, v in final.items() if k not in ("epoch", "iteration")}
        _say(f"done: {trainer.epoch} epoch(s), {trainer.iteration} iterations")
        _say(f"final: {format_metrics(metrics)}")
        if last:
            _say(f"checkpoint: {last}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- eval
def cmd_eval(args) -> int:
    from engine.cli.progress import format_metrics
    from engine.run import build_run

    if _is_checkpoint(args.source):
        if not args.project:
            raise CliError(
                "a checkpoint alone holds no data to evaluate on: add --project PROJECT", EXIT_USAGE
            )
        project_path, ckpt = args.project, args.source
    else:
        project_path, ckpt = args.source, args.checkpoint
    project = _load_project(project_path)
    if ckpt is None and project.last_checkpoint:
        ckpt = str(project.resolve(project.last_checkpoint))
    if ckpt is None:
        raise BadInput(
            f"{project_path}: the project has no trained checkpoint yet; give one with --checkpoint"
        )
    run = build_run(project, backend=args.backend, workers=1)
    _restore(run.trainer, ckpt)
    sets = [("validation", run.validation_data), ("test", getattr(run, "test_data", None))]
    sets = [(name, data) for name, data in sets if data is not None and len(data)]
    if not sets:
        sets = [("training", run.train_data)]
    _say(f"{project.name}: checkpoint {ckpt} (epoch {run.trainer.epoch}, iteration {run.trainer.iteration})")
    for name, data in sets:
        metrics = run.trainer.evaluate(data)
        _say(f"{name} ({len(data)} samples): {format_metrics(metrics)}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- predict
def cmd_predict(args) -> int:
    from engine.autodiff import no_grad
    from engine.cli.inputs import read_samples

    net, meta = network_from_checkpoint(args.checkpoint)
    if len(net.input_names) != 1:
        raise BadInput(
            f"{args.checkpoint}: the network takes {len(net.input_names)} inputs; predict handles "
            "one-input networks"
        )
    name = net.input_names[0]
    integer = getattr(net.layers[name], "dtype", "float") == "int"
    inputs, origins = read_samples(args.files, net.input_shapes[name], integer=integer)
    head = net.loss_head
    outputs = []
    with no_grad():
        for start in range(0, len(inputs), args.batch_size):
            out = net(inputs[start : start + args.batch_size], training=False)
            if isinstance(out, dict):
                out = out[head.name] if head is not None and head.name in out else next(iter(out.values()))
            if head is not None:
                out = head.predict(out)
            outputs.append(np.asarray(net.backend.to_host(out.data)))
    values = np.concatenate(outputs).reshape(len(inputs), -1) if outputs else np.zeros((0, 0), np.float32)
    classifier = head is not None and head.type_name == "softmax_cross_entropy"
    classes = meta.get("classes") if isinstance(meta.get("classes"), list) else None
    _write_predictions(args.output, origins, values, classifier, classes)
    if args.output:
        print(f"wrote {len(values)} prediction(s) to {args.output}", file=sys.stderr)
    return EXIT_OK


def _write_predictions(path, origins, values, classifier: bool, classes) -> None:
    width = values.shape[1] if values.ndim == 2 else 0
    if classifier:
        names = classes if classes and len(classes) == width else [str(i) for i in range(width)]
        header = ["file", "sample", "class", "probability", *[f"p_{n}" for n in names]]
    else:
        header = ["file", "sample", *[f"output_{i}" for i in range(width)]]
    # A file is written under a temporary name and renamed when complete: a failure never leaves a
    # half-written CSV in place of the user's previous one.
    tmp = Path(path).with_name(f".{Path(path).name}.tmp-{os.getpid()}") if path else None
    out = open(tmp, "w", newline="", encoding="utf-8") if tmp else sys.stdout  # noqa: SIM115
    try:
        writer = csv.writer(out)
        writer.writerow(header)
        for (file, row), v in zip(origins, values):
            cells = [f"{x:.6g}" for x in v]
            if classifier:
                best = int(np.argmax(v))
                cells = [names[best], f"{v[best]:.6g}", *cells]
            writer.writerow([file, row, *cells])
        if tmp:
            out.close()
            os.replace(tmp, path)
    finally:
        if tmp:
            out.close()
            tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------- export
def cmd_export(args) -> int:
    from engine.export import OPSET, to_onnx, verify

    net, _meta = network_from_checkpoint(args.checkpoint)
    model = to_onnx(net, args.onnx, probabilities=args.softmax)
    ins = ", ".join(f"{i.name}[{_dims(i)}]" for i in model.graph.input)
    outs = ", ".join(f"{o.name}[{_dims(o)}]" for o in model.graph.output)
    _say(
        f"wrote {args.onnx}: ONNX opset {OPSET}, {len(model.graph.node)} nodes; inputs {ins}; outputs {outs}"
    )
    if args.check:
        diff = verify(net, model, probabilities=args.softmax)
        _say(f"onnxruntime check: max abs difference {diff:.3g} on a random batch")
        if not diff <= 1e-4:
            raise CliError(f"onnxruntime's outputs differ from the engine's by {diff:.3g} (more than 1e-4)")
    return EXIT_OK


def _dims(value_info) -> str:
    dims = value_info.type.tensor_type.shape.dim
    return ", ".join(d.dim_param or str(d.dim_value) for d in dims)


# ---------------------------------------------------------------------------------------------- new
def _templates() -> dict:
    """``{"digits": digits_project, "digits-cnn": ..., "cat": ...}`` from engine.templates."""
    from engine import templates

    return {
        name[: -len("_project")].replace("_", "-"): getattr(templates, name)
        for name in sorted(dir(templates))
        if name.endswith("_project") and callable(getattr(templates, name))
    }


def cmd_new(args) -> int:
    makers = _templates()
    if args.template not in makers:
        raise CliError(f"unknown template {args.template!r}; choose one of {', '.join(makers)}", EXIT_USAGE)
    target = Path(args.project)
    if target.exists():
        raise BadInput(f"{target}: already exists; choose another name (nothing was overwritten)")
    project = makers[args.template]()
    project.save(target)
    _say(f"wrote {target}: {project.name} ({project.task}); train it with: sigma train {target}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- info
def cmd_info(args) -> int:
    from engine import checkpoint

    data = checkpoint.info(args.checkpoint)
    if args.json:
        _say(json.dumps(data, indent=2, default=str))
        return EXIT_OK
    spec = data.get("network_spec") or {}
    nodes = spec.get("nodes", [])
    _say(f"checkpoint  {data['path']} ({_size(data.get('size_bytes'))})")
    _say(
        f"trained     {data.get('epoch')} epoch(s), {data.get('iteration')} iterations; optimiser "
        f"{data.get('optimiser')} (learning rate {data.get('learning_rate')})"
    )
    _say(
        f"network     {len(nodes)} layers, {data.get('parameters'):,} parameters; "
        f"inputs {spec.get('inputs')}, outputs {spec.get('outputs')}"
    )
    for node in nodes:
        extras = {k: v for k, v in node.items() if k not in ("type", "name", "inputs", "init")}
        args_text = ", ".join(f"{k}={v}" for k, v in extras.items())
        _say(f"  {node.get('name'):<16} {node.get('type'):<22} {args_text}")
    last = {k: v for k, v in (data.get("last_metrics") or {}).items() if k not in ("epoch", "iteration")}
    if last:
        from engine.cli.progress import format_metrics

        _say(f"last epoch  {format_metrics(last)}")
    versions = data.get("versions") or {}
    if versions:
        _say("versions    " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return EXIT_OK


def _size(n) -> str:
    if not isinstance(n, int):
        return "? bytes"
    units = ["bytes", "KiB", "MiB", "GiB"]
    k = min(int(math.log(max(n, 1), 1024)), len(units) - 1)
    return f"{n / 1024**k:.1f} {units[k]}" if k else f"{n} bytes"
