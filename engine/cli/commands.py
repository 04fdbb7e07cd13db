"""The ``sigma`` subcommands. Each ``cmd_<name>(args) -> exit code`` raises on failure; ``main`` turns the
exception into one line on stderr and an exit code (:mod:`engine.cli.errors`). Training and evaluation
are in :mod:`engine.cli.train`."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from engine.cli.errors import EXIT_OK, EXIT_USAGE, BadInput, CliError
from engine.cli.loading import network_from_checkpoint, say
from engine.cli.runs import cmd_control, cmd_runs, cmd_sweep
from engine.cli.train import cmd_eval, cmd_train

__all__ = [
    "cmd_train",
    "cmd_eval",
    "cmd_predict",
    "cmd_export",
    "cmd_new",
    "cmd_info",
    "cmd_runs",
    "cmd_sweep",
    "cmd_control",
    "network_from_checkpoint",
]


# ---------------------------------------------------------------------------------------------- predict
def cmd_predict(args) -> int:
    from engine import checkpoint_guard
    from engine import predict as prediction

    summary = checkpoint_guard.info(args.checkpoint)  # read in a child; no parameters loaded yet
    notes: list[str] = []
    try:
        # The files are checked against the input the spec declares before the network is built, and
        # the first bad file ends the command (exit 3) before anything is written.
        _name, shape, integer = prediction.spec_input(summary["network_spec"])
        inputs, origins = prediction.read_samples(
            args.files, shape, integer=integer, summary=summary.get("input_summary"), notes=notes
        )
    except prediction.PredictInputError as exc:
        message = str(exc) if exc.file else f"{args.checkpoint}: {exc}"
        raise BadInput(message) from None
    for note in notes:  # what differs from the training data, and the conversion applied
        print(f"warning: {note}", file=sys.stderr)
    net, meta = network_from_checkpoint(args.checkpoint)
    classes = meta.get("classes") if isinstance(meta.get("classes"), list) else None
    table = prediction.predictions(net, inputs, origins, classes=classes, batch_size=args.batch_size)
    prediction.write_csv(table, args.output)
    if args.output:
        print(f"wrote {len(table)} prediction(s) to {args.output}", file=sys.stderr)
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- export
def cmd_export(args) -> int:
    from engine.export import OPSET, to_onnx, verify

    net, _meta = network_from_checkpoint(args.checkpoint)
    model = to_onnx(net, args.onnx, probabilities=args.softmax)
    ins = ", ".join(f"{i.name}[{_dims(i)}]" for i in model.graph.input)
    outs = ", ".join(f"{o.name}[{_dims(o)}]" for o in model.graph.output)
    say(f"wrote {args.onnx}: ONNX opset {OPSET}, {len(model.graph.node)} nodes; inputs {ins}; outputs {outs}")
    if args.check:
        from engine.optional import require

        # --check without onnxruntime: the file is written (exit 5 says only the check could not run)
        require("onnxruntime", feature=f"sigma export --check ({args.onnx} was written)", extra="export")
        diff = verify(net, model, probabilities=args.softmax)
        say(f"onnxruntime check: max abs difference {diff:.3g} on a random batch")
        if not diff <= 1e-4:
            raise CliError(f"onnxruntime's outputs differ from the engine's by {diff:.3g} (more than 1e-4)")
    return EXIT_OK


def _dims(value_info) -> str:
    dims = value_info.type.tensor_type.shape.dim
    return ", ".join(d.dim_param or str(d.dim_value) for d in dims)


# ---------------------------------------------------------------------------------------------- new
def _templates() -> dict:
    """The bundled examples by key (``engine.templates.EXAMPLES``): ``{"cat": cat_project, ...}``."""
    from engine import templates

    return {example.key: example.make for example in templates.EXAMPLES}


def cmd_new(args) -> int:
    makers = _templates()
    if args.template not in makers:
        raise CliError(f"unknown template {args.template!r}; choose one of {', '.join(makers)}", EXIT_USAGE)
    target = Path(args.project)
    if target.exists():
        raise BadInput(f"{target}: already exists; choose another name (nothing was overwritten)")
    project = makers[args.template]()
    project.save(target)
    say(f"wrote {target}: {project.name} ({project.task}); train it with: sigma train {target}")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- info
def cmd_info(args) -> int:
    from engine import checkpoint_guard

    data = checkpoint_guard.info(args.checkpoint)  # read in a child with a time and memory limit
    if args.json:
        say(json.dumps(data, indent=2, default=str))
        return EXIT_OK
    spec = data.get("network_spec") or {}
    nodes = spec.get("nodes", [])
    say(f"checkpoint  {data['path']} ({_size(data.get('size_bytes'))})")
    say(
        f"trained     {data.get('epoch')} epoch(s), {data.get('iteration')} iterations; optimiser "
        f"{data.get('optimiser')} (learning rate {data.get('learning_rate')})"
    )
    say(
        f"network     {len(nodes)} layers, {data.get('parameters'):,} parameters; "
        f"inputs {spec.get('inputs')}, outputs {spec.get('outputs')}"
    )
    for node in nodes:
        extras = {k: v for k, v in node.items() if k not in ("type", "name", "inputs", "init")}
        args_text = ", ".join(f"{k}={v}" for k, v in extras.items())
        say(f"  {node.get('name'):<16} {node.get('type'):<22} {args_text}")
    classes = data.get("classes") or []
    if classes:
        shown = ", ".join(str(c) for c in classes[:12]) + (
            f", ... ({len(classes)} in all)" if len(classes) > 12 else ""
        )
        say(f"classes     {shown}")
    last = {k: v for k, v in (data.get("last_metrics") or {}).items() if k not in ("epoch", "iteration")}
    if last:
        from engine.cli.progress import format_metrics

        say(f"last epoch  {format_metrics(last)}")
    versions = data.get("versions") or {}
    if versions:
        say("versions    " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return EXIT_OK


def _size(n) -> str:
    if not isinstance(n, int):
        return "? bytes"
    units = ["bytes", "KiB", "MiB", "GiB"]
    k = min(int(math.log(max(n, 1), 1024)), len(units) - 1)
    return f"{n / 1024**k:.1f} {units[k]}" if k else f"{n} bytes"
