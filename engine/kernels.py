"""The ``training.kernels`` setting: which kernels a run's CNN passes use, and telling the user when the
compiled ones cannot run here.

``"numpy"`` (the default) or ``"compiled"``: the optional kernels of :mod:`engine.ops.compiled` (extra
``fast``, numba) for 2x2 max pooling and the convolution's input gradient, one pass each where numpy
makes several. The word is "compiled", not "numba": it says what the user chooses (compiled kernels,
with their cost) rather than the library that builds them today. Both give the same bits. Compiled
kernels make a CNN-with-pooling step ~0.86 of numpy's time at one thread (~0.76 at two) and cost ~105 MiB
of memory and a compile on the first run (~5 s; ~0.5 s from numba's on-disk cache afterwards), so they
are not the default (bench/README.md, issue 22).

Which kernels a run uses, the first that says:

1. the run's own choice: ``sigma train --kernels``, :func:`engine.run.build_run`'s ``kernels``;
2. the process's choice: ``SIGMA_KERNELS`` in the environment or a script's
   :func:`engine.ops.compiled.set_kernels` (what the person running this process decided outranks the
   file, as an environment variable usually does);
3. the project's ``training.kernels``.

Compiled kernels asked for where numba cannot be imported: the run trains with numpy's (the same
results) and :attr:`KernelChoice.note` says why and how to get them; :meth:`engine.run.Run.fit` says it
once per run, as a warning in the run's log (the studio's log, the run folder's events, one line on the
``sigma`` command's stderr).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util

__all__ = [
    "CHOICES",
    "DEFAULT",
    "SOURCE",
    "KernelChoice",
    "resolve",
    "process_choice",
    "numba_status",
    "tell",
]

#: The setting's values.
CHOICES = ("numpy", "compiled")
#: The default: no numba import, no compile, no extra memory.
DEFAULT = "numpy"
#: The ``source`` of the run's log line about its kernels.
SOURCE = "engine.kernels"

_BY = {
    "run": "by this run's options (--kernels)",
    "process": "by this process (SIGMA_KERNELS or set_kernels)",
    "project": "by the project's training.kernels",
}


@dataclasses.dataclass(frozen=True)
class KernelChoice:
    """The kernels a run asked for and the ones it uses.

    Attributes
    ----------
    asked, used : str
        ``"numpy"`` or ``"compiled"``; they differ when compiled kernels cannot run here.
    by : str
        Who decided: ``"run"`` (``sigma train --kernels``), ``"process"`` (``SIGMA_KERNELS`` or
        ``set_kernels``) or ``"project"``.
    note : str
        Why the compiled kernels asked for are not used, and how to get them; "" when they are.
    """

    asked: str
    used: str
    by: str
    note: str = ""


def resolve(setting: str, override: str | None = None) -> KernelChoice:
    """The kernels a run uses: ``override`` (the run's own), else the process's, else ``setting``.

    Compiled kernels asked for are loaded here (numba's import, ~105 MiB, ~0.3 s), so that a run knows
    before it trains whether it has them.

    Raises
    ------
    ValueError
        ``override`` is not one of :data:`CHOICES` (the project's setting was checked when it was set).
    """
    from .ops import compiled

    if override is not None and override not in CHOICES:
        raise ValueError(
            f"Invalid value for `kernels`. Expected one of {', '.join(CHOICES)}. Received: {override!r}"
        )
    process = compiled.choice()
    if override is not None:
        asked, by = override, "run"
    elif process is not None:
        asked, by = process, "process"
    else:
        asked, by = setting or DEFAULT, "project"
    if asked == "numpy" or compiled.available():
        return KernelChoice(asked, asked, by)
    note = (
        f"compiled kernels were asked for {_BY[by]}, but {compiled.reason()}: training with numpy's kernels "
        f"(the same results, slower on CNNs with pooling); to get them: {compiled.INSTALL}"
    )
    return KernelChoice(asked, "numpy", by, note)


def process_choice() -> str | None:
    """The process's own choice (``"compiled"`` or ``"numpy"``, from ``SIGMA_KERNELS`` or ``set_kernels``),
    which outranks a project's; None when it made none."""
    from .ops import compiled

    return compiled.choice()


def numba_status() -> tuple[bool, str]:
    """(installed, words) for what the studio and ``sigma`` show: "numba 0.60.0 is installed" or "numba
    is not installed: pip install ...". Found without importing it (cheap); an installed numba that
    fails to import is found out by the run (:func:`resolve`)."""
    from .ops.compiled import INSTALL

    try:
        found = importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError) as exc:  # a broken install, or an import hook refusing it
        return False, f"numba cannot be imported ({exc}): {INSTALL}"
    if not found:
        return False, f"numba is not installed: {INSTALL}"
    try:
        version = " " + importlib.metadata.version("numba")
    except importlib.metadata.PackageNotFoundError:  # importable but not an installed distribution
        version = ""
    return True, f"numba{version} is installed"


def tell(choice: KernelChoice | None, events) -> None:
    """Say ``choice``'s note (if any) on ``events`` as a warning in the run's log."""
    if choice is not None and choice.note:
        from .events import LogMessage

        events.emit(LogMessage(source=SOURCE, level="warning", message=choice.note))
