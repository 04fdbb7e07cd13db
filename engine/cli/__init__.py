"""``sigma``: train, evaluate, predict with and export networks without the studio (no Qt, no screen).

Console script ``sigma = engine.cli:main``; also ``python -m engine.cli``. The subcommands are in
:mod:`engine.cli.commands`; documentation with examples is ``docs/CLI.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings

from engine import allocator
from engine.cli.errors import (
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    exit_code_for,
    one_line,
)

__all__ = ["main", "build_parser", "TRIAL_COMMAND"]

#: ``sigma _sweep-trial SWEEP_FILE INDEX`` runs one trial of a sweep (see :mod:`engine.runs.sweep`).
TRIAL_COMMAND = "_sweep-trial"

_DESCRIPTION = "Sigma Studio's headless command: train, evaluate, predict with and export networks."


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (the usage text stays in ``--help``)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text}")
    return value


def _numba_words() -> str:
    """Whether ``--kernels compiled`` can work here, for its help ("numba 0.60.0 is installed.")."""
    from engine.kernels import numba_status

    return numba_status()[1].replace("%", "%%") + "."


def build_parser() -> argparse.ArgumentParser:
    """The ``sigma`` argument parser with all subcommands."""
    from engine import __version__

    parser = _Parser(
        prog="sigma",
        description=_DESCRIPTION,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sigma {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback when a command fails")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name, help_text, description=None):
        p = sub.add_parser(
            name,
            help=help_text,
            description=description or help_text,
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show the full traceback when the command fails",
        )
        return p

    p = command(
        "train",
        "train a project (a .sigma project file)",
        "Train the network of a project on its dataset, printing progress and one line of metrics "
        "per epoch. The run is recorded in '<project>.runs/run-NNNN/' next to the project file (settings, "
        "metric history, checkpoints; see 'sigma runs'). Checkpoints go to --checkpoint-dir (default: "
        "the project's setting, else the run folder's 'checkpoints'), named after the project and the "
        "iteration ('digits-it000115.h5'), every training.checkpoint.every_epochs epochs but at most one "
        "every training.checkpoint.min_seconds seconds (default 5; a skipped one is written at the next "
        "chance); the run's last state is 'last.h5', written when it ends or is stopped.",
    )
    p.add_argument("project", metavar="PROJECT", help="project file (JSON, format sigma.project/1)")
    p.add_argument(
        "--backend", choices=("cpu", "cuda", "auto"), help="array backend (default: the project's)"
    )
    p.add_argument(
        "--kernels",
        choices=("numpy", "compiled"),
        help="numpy's kernels, or the optional compiled ones for CNNs with pooling (the same results, "
        "faster; ~105 MiB more memory and a compile on the first run). Default: SIGMA_KERNELS when it is "
        f"set, else the project's training.kernels. {_numba_words()}",
    )
    p.add_argument(
        "--workers", type=_positive_int, metavar="N", help="data-parallel workers (default: the project's)"
    )
    p.add_argument(
        "--operator",
        choices=("auto", "threads", "mpi"),
        default="auto",
        help="how the workers run: threads in this process, or 'mpi' for one rank of "
        "'mpirun -n K sigma train PROJECT --operator mpi' (rank 0 prints and writes checkpoints)",
    )
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue from a checkpoint of this project")
    p.add_argument(
        "--epochs",
        type=_positive_int,
        metavar="N",
        help="train until this many epochs in total (default: the project's)",
    )
    p.add_argument("--checkpoint-dir", metavar="DIR", help="where checkpoints are written")
    p.add_argument(
        "--checkpoint-min-seconds",
        type=_seconds,
        metavar="S",
        help="at most one periodic checkpoint every S seconds (0: every due epoch; default: the "
        "project's training.checkpoint.min_seconds, else 5)",
    )
    p.add_argument("--no-checkpoints", action="store_true", help="write no checkpoints at all")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no epoch lines")
    p.add_argument(
        "--health",
        action="store_true",
        help="watch every layer's health (gradient norm, update ratio, dead units, saturation, NaN) "
        "and print its findings as warnings",
    )
    p.add_argument(
        "--health-every",
        type=_positive_int,
        metavar="N",
        help="with --health: measure every N iterations (default: the LayerHealth default, 50)",
    )
    p.add_argument(
        "--no-record",
        action="store_true",
        help="do not record the run in the project's run folder ('<project>.runs/run-NNNN')",
    )

    p = command(
        "eval",
        "evaluate a trained network on a project's data",
        "Evaluate on the validation data of a project (and its test data when it has some). Give "
        "the project (its last checkpoint is used, or --checkpoint) or a checkpoint with --project.",
    )
    p.add_argument("source", metavar="PROJECT|CHECKPOINT")
    p.add_argument("--project", metavar="PROJECT", help="the project whose data to use (with a checkpoint)")
    p.add_argument("--checkpoint", metavar="CHECKPOINT", help="the checkpoint to evaluate (with a project)")
    p.add_argument(
        "--backend", choices=("cpu", "cuda", "auto"), help="array backend (default: the project's)"
    )

    p = command(
        "predict",
        "predict with a trained network; writes CSV",
        "Run a checkpoint's network on input files: images (png, jpg, bmp, gif, tif, webp), CSV "
        "files (one sample per row, numbers only) or .npy arrays (one sample, or several along "
        "the first axis). Writes one CSV row per sample: file, row, the predicted class and its "
        "probability for classifiers, then every output value.",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT")
    p.add_argument("files", metavar="FILE", nargs="+")
    p.add_argument("-o", "--output", metavar="OUT.csv", help="write the CSV here (default: stdout)")
    p.add_argument("--batch-size", type=_positive_int, default=256, metavar="N")

    p = command(
        "export",
        "export a trained network (ONNX)",
        "Write the prediction path of a checkpoint's network as an ONNX model (loss head dropped).",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT")
    p.add_argument("--onnx", required=True, metavar="OUT.onnx", help="the ONNX file to write")
    p.add_argument(
        "--softmax",
        action="store_true",
        help="end a classifier with softmax (probabilities instead of logits)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="run the model in onnxruntime on random inputs and compare with the engine",
    )

    p = command(
        "new",
        "write a new project file from a template",
        "Write a project file from one of the bundled examples (engine.templates.EXAMPLES: cat, photo, "
        "digits, digits-cnn, shapes, iris, text, xor), ready for 'sigma train'. An existing file is never "
        "overwritten.",
    )
    p.add_argument("project", metavar="PROJECT", help="the project file to write (e.g. digits.sigma)")
    p.add_argument(
        "--template",
        default="digits",
        help="an example's key: digits (default), digits-cnn, cat, photo, shapes, iris, text or xor",
    )

    p = command(
        "runs",
        "list a project's runs as a table",
        "Print one row per recorded run of a project: its state, lineage, every setting that differs "
        "between the runs, and the final and best loss and metric (training and validation). The "
        "studio's run table shows the same.",
    )
    p.add_argument("project", metavar="PROJECT", help="project file (its runs are in PROJECT.runs/)")
    p.add_argument(
        "--csv",
        nargs="?",
        const="-",
        metavar="OUT.csv",
        help="write the table as CSV (to OUT.csv, or to stdout without a file name)",
    )

    p = command(
        "sweep",
        "train a project over a grid of settings",
        "Train one recorded run per combination of the --grid values (or --random N of them), each in "
        "its own process. Keys: a training setting (optimiser.learning_rate, batch_size, seed, "
        "optimiser.type, epochs) or a layer argument by layer-name pattern (network.fc*.units). An "
        "interrupted sweep continues with --resume. The runs show in 'sigma runs' and the studio.",
    )
    p.add_argument("project", metavar="PROJECT", help="project file (JSON, format sigma.project/1)")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="an axis of the sweep, e.g. optimiser.learning_rate=1e-3,3e-3 (repeat for more axes)",
    )
    p.add_argument("--random", type=_positive_int, metavar="N", help="run N combinations picked at random")
    p.add_argument("--seed", type=int, default=0, help="seed of the --random pick (default 0)")
    p.add_argument(
        "--parallel",
        type=_positive_int,
        default=1,
        metavar="N",
        help="trials at once (default 1); each gets cores/N BLAS threads",
    )
    p.add_argument(
        "--resume",
        nargs="?",
        const="last",
        metavar="SWEEP",
        help="continue an unfinished sweep (the last one, or e.g. sweep-0002): its unfinished trials run",
    )

    steering = (
        ("pause", "pause a run at its next iteration (it keeps its state; resume continues)"),
        ("resume", "continue a paused run"),
        ("step", "let a paused run do N more iterations, then pause again"),
        ("stop", "stop a run cleanly after writing a final checkpoint (last.h5)"),
        ("checkpoint", "write a checkpoint of a run now, without stopping it"),
        ("set", "change a live value of a run: the learning rate or an optimiser setting"),
    )
    for name, help_text in steering:
        p = command(
            name,
            help_text,
            f"{help_text[0].upper()}{help_text[1:]}. Works on any recorded run, started from the studio, "
            "'sigma train' or 'mpirun ... sigma train --operator mpi', on this machine or another one "
            "that writes into a shared folder: the command is a file in RUN_FOLDER/control/ that the run "
            "applies at its next iteration boundary and acknowledges in its events log.",
        )
        p.add_argument("run", metavar="RUN_FOLDER", help="the run's folder, e.g. digits.sigma.runs/run-0003")
        if name == "step":
            p.add_argument("n", nargs="?", type=_positive_int, default=1, metavar="N", help="iterations (1)")
        if name == "set":
            p.add_argument(
                "values",
                nargs="+",
                metavar="NAME=VALUE",
                help="lr=0.01 (the learning rate), momentum=0.8 (an optimiser setting), or a full registry "
                "name of a value tagged editable",
            )
        p.add_argument(
            "--wait",
            type=float,
            default=10.0,
            metavar="SECONDS",
            help="wait this long for the run's acknowledgement (default 10; 0: do not wait)",
        )

    p = command("info", "describe a checkpoint", "Print what a checkpoint holds: network, counters, metrics.")
    p.add_argument("checkpoint", metavar="CHECKPOINT")
    p.add_argument("--json", action="store_true", help="print the information as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``sigma`` command; returns the exit code (see ``sigma --help``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [TRIAL_COMMAND]:  # a sweep's trial process (not for users: not in --help)
        from engine.runs import trial

        return trial.main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    from engine.cli import commands

    allocator.tune()  # this process trains: keep each step's temporaries off fresh pages
    if not getattr(args, "debug", False):
        # numpy's overflow warnings before a NaN guard stops training would break the one-line rule;
        # the guard's error says what went wrong, and --debug shows everything.
        warnings.filterwarnings("ignore", category=RuntimeWarning)
    prog = f"sigma {args.command}"
    try:
        code = getattr(commands, f"cmd_{args.command}", commands.cmd_control)(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # The reader went away (``sigma info X | head``): not an error of ours. Point stdout at devnull so
        # that the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
        return exit_code_for(exc)
