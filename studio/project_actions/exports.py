"""File > Export network to ONNX… (``actions.exports``).

The options dialog (:class:`~studio.widgets.export_dialog.ExportDialog`) asks for the file, logits or
probabilities and whether to check the model in onnxruntime; the export runs on the thread pool
(:class:`~.trained.NetworkJob`) and its outcome is a banner message: the file, the model's inputs and
outputs, and the largest difference from the engine's outputs when checked. ``engine.export.to_onnx``
writes to a temporary file and renames it, so a failed export never replaces a user's file.
"""

from __future__ import annotations

import importlib.util
import os

from PySide6.QtCore import QObject

from .trained import NetworkJob

__all__ = ["ExportCommands", "ExportJob", "onnx_missing_message"]

CHECK_TOLERANCE = 1e-4  # as ``sigma export --check``


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ValueError, ImportError):  # a module set to None in sys.modules, or a broken package
        return False


def onnx_missing_message() -> str | None:
    """What to install when the ``onnx`` package is missing (None when it is there)."""
    if _installed("onnx"):
        return None
    return (
        "Export to ONNX needs the 'onnx' package, which is not installed: pip install onnx "
        "(or pip install sigma-studio[export], which adds onnxruntime for checking the model)."
    )


class ExportJob(NetworkJob):
    """Writes the network as ONNX and, when asked and possible, checks it in onnxruntime."""

    def __init__(self, source, path: str, probabilities: bool, check: bool):
        super().__init__(source)
        self.path, self.probabilities, self.check = path, probabilities, check

    def work(self, network, classes) -> dict:  # pool thread
        from engine.export import OPSET, to_onnx, verify

        model = to_onnx(network, self.path, probabilities=self.probabilities)
        ins = ", ".join(f"{v.name}[{_dims(v)}]" for v in model.graph.input)
        outs = ", ".join(f"{v.name}[{_dims(v)}]" for v in model.graph.output)
        result = {
            "path": self.path,
            "summary": f"ONNX opset {OPSET}, {len(model.graph.node)} nodes; inputs {ins}; outputs {outs}",
            "difference": None,
            "checked": False,
        }
        if self.check and _installed("onnxruntime"):
            result["difference"] = verify(network, model, probabilities=self.probabilities)
            result["checked"] = True
        return result


def _dims(value_info) -> str:
    dims = value_info.type.tensor_type.shape.dim
    return ", ".join(d.dim_param or str(d.dim_value) for d in dims)


class ExportCommands(QObject):
    """File > Export network to ONNX…"""

    def __init__(self, actions):
        super().__init__(actions)
        self.actions = actions
        self.window = actions.window
        self.dialog = None  # the options dialog, once opened

    def export_onnx(self, path=None, probabilities: bool | None = None, check: bool | None = None) -> bool:
        """Export the trained network (see :meth:`NetworkJobs.network_source`) to ``path`` as ONNX.

        With ``path`` None, the options dialog opens (non-modal) and exports when accepted. Returns
        whether an export was started; the outcome arrives as a message and ``sigExported(path)``.
        """
        missing = onnx_missing_message()
        if missing:
            self.actions.message(missing, "error")
            return False
        source = self.actions.networks.network_source()
        if source is None:
            return False
        if path is None:
            self._open_export_dialog(source)
            return False
        has_runtime = _installed("onnxruntime")
        job = ExportJob(
            source,
            os.fspath(path),
            probabilities=True if probabilities is None else bool(probabilities),
            check=has_runtime if check is None else bool(check),
        )
        job.signals.sigDone.connect(self._on_exported)
        job.signals.sigFailed.connect(self._on_export_failed)
        self.actions.networks.run(job)
        self.actions.message(f"Exporting {source.description} to {path}…", "info")
        return True

    def _open_export_dialog(self, source) -> None:
        from studio.widgets.export_dialog import ExportDialog

        dialog = ExportDialog(
            self.window, source.description, self._default_onnx_path(), _installed("onnxruntime")
        )
        dialog.sigExport.connect(self.export_onnx)
        self.dialog = dialog
        dialog.open()

    def _default_onnx_path(self) -> str:
        project = self.window.project
        if project is not None and project.path:
            return str(project.path.parent / (project.path.name.split(".")[0] + ".onnx"))
        name = (getattr(project, "name", "") or "network").strip().replace(" ", "_").lower()
        return os.path.join(os.path.expanduser("~"), f"{name}.onnx")

    def _on_exported(self, job: ExportJob, result: dict) -> None:
        text = f"Exported to {result['path']}: {result['summary']}."
        level = "info"
        if result["checked"]:
            diff = result["difference"]
            text += f" onnxruntime check: max abs difference {diff:.3g} on a random batch"
            if not diff <= CHECK_TOLERANCE:
                text += f", more than {CHECK_TOLERANCE:g}: do not trust this model"
                level = "error"
            text += "."
        elif job.check:
            text += " Not checked: onnxruntime is not installed (pip install onnxruntime)."
        self.actions.message(text, level)
        self.actions.sigExported.emit(result["path"])

    def _on_export_failed(self, job: ExportJob, text: str) -> None:
        self.actions.message(f"Could not export to {job.path}: {text}", "error")
        self.actions.sigExportFailed.emit(text)
