"""Reading an untrusted checkpoint in a child process, with a time and a memory limit.

:mod:`engine.checkpoint_reader` checks everything it can before reading, but a damaged file can
still make HDF5's C code loop or allocate while following its own metadata, where no Python check
can interrupt it. The ``sigma`` commands and the studio therefore first read the whole file (every
array, the digest) in a child process: if it does not answer within the time limit, dies, or runs out
of its memory limit, the file is refused with a :class:`~engine.checkpoint.CheckpointError`. A file
the child read completely is then read in this process by the same code, which follows the same path.

``python -m engine.checkpoint_guard FILE [MEMORY_BYTES]`` is the child (it limits its own memory):
it prints one JSON line, the summary of :func:`engine.checkpoint.info` or the error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .checkpoint_reader import CheckpointError

__all__ = ["checked", "info", "TIME_LIMIT_S", "MEMORY_LIMIT_BYTES"]

TIME_LIMIT_S = 60.0  # plus a second per 100 MB of file
MEMORY_LIMIT_BYTES = 2 << 30  # plus twice the file's size (its arrays, and one copy of them)


def checked(path, timeout: float | None = None) -> dict:
    """Read and verify ``path`` completely in a child process; returns its :func:`info` summary.

    Parameters
    ----------
    path : str or PathLike
    timeout : float, optional
        Seconds before the file is refused as one that never finishes reading (default
        :data:`TIME_LIMIT_S` plus a second per 100 MB).

    Raises
    ------
    CheckpointError
        The file is not a complete, consistent checkpoint, or reading it did not finish within the
        time or memory limit.
    """
    path = os.path.abspath(os.fspath(path))
    try:
        size = os.stat(path).st_size
    except OSError:
        raise CheckpointError("no such file", path) from None
    limit = timeout if timeout is not None else TIME_LIMIT_S + size / 100e6
    memory = MEMORY_LIMIT_BYTES + 2 * size
    # The child limits its own memory: no preexec_fn, so the parent can vfork (a fork of a large
    # process such as the studio holds the GIL for as long as copying its page tables takes).
    command = [sys.executable, "-m", "engine.checkpoint_guard", path, str(memory)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")  # it reads, it does not compute
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=limit,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise CheckpointError(
            f"reading it did not finish within {limit:.0f} s: the file is damaged", path
        ) from None
    lines = done.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        why = "ran out of memory" if "MemoryError" in done.stderr else f"ended with code {done.returncode}"
        raise CheckpointError(f"reading it failed (the reader {why}): the file is damaged", path)
    if "error" in answer:
        raise CheckpointError(str(answer["error"]))
    return answer["info"]


def info(path, timeout: float | None = None) -> dict:
    """:func:`engine.checkpoint.info` of a file first read completely in a child (see :func:`checked`)."""
    return checked(path, timeout)


def _main(argv) -> int:
    import numpy as np

    from . import checkpoint

    try:
        if len(argv) not in (1, 2):
            raise CheckpointError("usage: python -m engine.checkpoint_guard FILE [MEMORY_BYTES]")
        if len(argv) == 2 and os.name == "posix":
            import resource

            limit = int(argv[1])
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        content = checkpoint.load(argv[0])  # everything, with the digest
        for group in ("parameters", "buffers"):
            for key, array in content[group].items():
                if getattr(array, "dtype", None) is None or (
                    array.dtype.kind == "f" and not np.isfinite(array).all()
                ):
                    raise CheckpointError(f"{group[:-1]} {key} holds non-finite values or is not an array")
        summary = checkpoint.info(argv[0])
        print(json.dumps({"info": summary}, default=str))
    except CheckpointError as exc:
        print(json.dumps({"error": str(exc)}))
    except MemoryError:
        print("MemoryError", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
