"""Exit codes of the ``sigma`` command and the mapping from exceptions to them.

Every failure ends as one line on stderr (``sigma <command>: error: <what and where>``) and one of
these exit codes; ``--debug`` adds the traceback.
"""

from __future__ import annotations

__all__ = [
    "EXIT_OK",
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "EXIT_BAD_INPUT",
    "EXIT_CANNOT_EXPORT",
    "EXIT_MISSING_DEPENDENCY",
    "EXIT_INTERRUPTED",
    "EXIT_CODES_HELP",
    "CliError",
    "BadInput",
    "exit_code_for",
    "one_line",
]

EXIT_OK = 0
EXIT_FAILURE = 1  # training or another run-time step failed (NaN loss, out of memory, CUDA error...)
EXIT_USAGE = 2  # wrong command line (unknown option, missing argument, bad value)
EXIT_BAD_INPUT = 3  # a file given cannot be used: project, checkpoint, data or prediction input
EXIT_CANNOT_EXPORT = 4  # the network holds a layer ONNX has no operator for
EXIT_MISSING_DEPENDENCY = 5  # an optional package (extra cuda, mpi or export) the command needs is missing
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C (SIGINT), the shell convention 128 + 2

EXIT_CODES_HELP = """exit codes:
  0    success
  1    training or another step failed while running
  2    usage error (unknown option, missing or bad argument)
  3    bad input: a project, checkpoint, data or prediction file is missing, damaged or does not fit
  4    the network cannot be exported to ONNX (the message names the layer)
  5    an optional package the command needs is not installed (the message gives the pip install line)
  130  interrupted (Ctrl-C); training stops cleanly and saves a final checkpoint when checkpoints are on"""


class CliError(Exception):
    """A failure the command reports as it is, with the exit code to use."""

    def __init__(self, message: str, code: int = EXIT_FAILURE):
        super().__init__(message)
        self.code = code


class BadInput(CliError):
    """A file given on the command line cannot be used (exit code 3)."""

    def __init__(self, message: str):
        super().__init__(message, EXIT_BAD_INPUT)


def _bad_input_types() -> tuple[type, ...]:
    """Exception types that mean "the file you gave me is wrong", collected from the engine's parts.

    Looked up at call time so that a part still being written (or failing to import) never breaks
    the command's error handling.
    """
    found: list[type] = [
        FileNotFoundError,
        IsADirectoryError,
        NotADirectoryError,
        PermissionError,
        UnicodeDecodeError,
    ]
    for module, name in (
        ("engine.project", "ProjectError"),
        ("engine.data.errors", "DataImportError"),
        ("engine.checkpoint", "CheckpointError"),
        ("engine.network", "SpecError"),
        ("engine.network", "NetworkError"),
        ("engine.layers", "SpecError"),
        ("engine.layers", "LayerError"),
    ):
        try:
            mod = __import__(module, fromlist=[name])
        except Exception:
            continue
        cls = getattr(mod, name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


def exit_code_for(exc: BaseException) -> int:
    """The exit code for an exception that ended a command."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, CliError):
        return exc.code
    from engine.optional import MissingDependency

    if isinstance(exc, MissingDependency):  # before the export and bad-input checks it may also match
        return EXIT_MISSING_DEPENDENCY
    try:
        from engine.export import ExportError
    except Exception:  # onnx missing: no export errors can happen either
        ExportError = ()
    if ExportError and isinstance(exc, ExportError):
        return EXIT_CANNOT_EXPORT
    if isinstance(exc, _bad_input_types()):
        return EXIT_BAD_INPUT
    return EXIT_FAILURE


def one_line(exc: BaseException) -> str:
    """The exception as one line: its message with newlines folded; the class name when it has none.

    Errors the engine raises for users already say what and where; for anything else the class name
    is kept in front, because "list index out of range" alone would not tell the user much.
    """
    text = " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    # The engine's own errors, and errors the engine raised itself (a ValueError naming the bad value),
    # are written for users; an error from deeper down keeps its class name for context.
    known = (
        type(exc).__module__.startswith("engine.")
        or _raised_by_engine(exc)
        or isinstance(exc, (CliError, *_bad_input_types()))
        or type(exc).__module__ == "engine.optional"
    )
    if not text:
        return type(exc).__name__
    return text if known else f"{type(exc).__name__}: {text}"


def _raised_by_engine(exc: BaseException) -> bool:
    """Whether the innermost frame of the exception's traceback is engine code."""
    tb, last = exc.__traceback__, None
    while tb is not None:
        last, tb = tb, tb.tb_next
    return last is not None and str(last.tb_frame.f_globals.get("__name__", "")).startswith("engine.")
