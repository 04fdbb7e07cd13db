"""Reading what the ``sigma`` commands are given: projects and checkpoints."""

from __future__ import annotations

from engine.cli.errors import BadInput

__all__ = ["say", "load_project", "is_checkpoint", "network_from_checkpoint", "restore"]


def say(*parts) -> None:
    """Print a line to stdout at once (progress lines must not wait in a pipe's buffer)."""
    print(*parts, flush=True)


def load_project(path):
    from engine.project import Project

    return Project.load(path)


def is_checkpoint(path) -> bool:
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
    from engine.predict import PredictInputError, load_network

    try:
        return load_network(path)
    except PredictInputError as exc:  # the stored network does not build
        raise BadInput(str(exc)) from None


def restore(run, path) -> str:
    """Restore a checkpoint into ``run`` (an ``engine.run.Run``: :func:`engine.run.restore_checkpoint`,
    a resume, or a branch on edited data for a recorded run); a misfit is reported by its first
    differences (the full list can run to pages for another network). Returns the restore's sentence
    for the log (``""`` for an exact resume)."""
    from engine import checkpoint
    from engine.run import restore_checkpoint

    try:
        return restore_checkpoint(run, path)
    except checkpoint.CheckpointError as exc:
        text = str(exc)
        marker = "does not fit this trainer: "
        if marker not in text:
            raise
        problems = text.split(marker, 1)[1].rsplit(" (checkpoint ", 1)[0].split("; ")
        shown = "; ".join(p if len(p) <= 160 else p[:157] + "..." for p in problems[:3])
        more = f"; and {len(problems) - 3} more difference(s)" if len(problems) > 3 else ""
        raise BadInput(f"{path}: the checkpoint does not fit this project: {shown}{more}") from None
