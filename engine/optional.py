"""Optional dependencies: the extras that bring them and the error when one is missing.

A feature that needs a package from an extra (``cuda``, ``mpi``, ``export``) imports it through
:func:`require`; when it is not installed the user gets :class:`MissingDependency`, which names the
feature, the package and the ``pip install`` line, and the ``sigma`` command exits with its own code (5).
"""

from __future__ import annotations

import importlib

__all__ = ["EXTRAS", "MissingDependency", "require"]

# extra -> (packages it installs, what it is for); the README's dependency table says the same.
EXTRAS = {
    "cuda": (("cupy-cuda12x",), "the CUDA backend (NVIDIA GPU, CUDA 12.x driver)"),
    "mpi": (("mpi4py",), "distributed training over MPI (operator 'mpi')"),
    "export": (("onnx", "onnxruntime"), "ONNX export and checking the exported model"),
}


class MissingDependency(ImportError):
    """A feature needs a package that is not installed.

    Attributes
    ----------
    package : str
        The distribution to install (``"onnx"``).
    extra : str
        The Sigma Studio extra that brings it (``"export"``).
    feature : str
        What needs it, as the user would say it (``"ONNX export"``).
    """

    def __init__(self, feature: str, package: str, extra: str, detail: str = ""):
        self.feature, self.package, self.extra = feature, package, extra
        why = f" ({detail})" if detail else ""
        super().__init__(
            f"{feature} needs the '{package}' package, which is not installed{why}: "
            f'pip install "sigma-studio[{extra}]" (or pip install {package})',
            name=package,
        )


def require(module: str, *, feature: str, package: str | None = None, extra: str):
    """Import ``module`` or raise :class:`MissingDependency` saying how to install it.

    Parameters
    ----------
    module : str
        The module to import (``"onnxruntime"``).
    feature : str
        What needs it (``"--check"``), for the message.
    package : str, optional
        The distribution name when it differs from the module's.
    extra : str
        The extra of ``sigma-studio`` that installs it (a key of :data:`EXTRAS`).
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] != module.split(".")[0]:
            raise  # the package is there but one of *its* imports is broken: say that, not "install it"
        raise MissingDependency(feature, package or module, extra) from None
