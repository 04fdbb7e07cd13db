"""Predictions on files: what ``sigma predict`` and the studio's Training > Predict on files… share.

Reading
-------
Each file gives one or more samples for a network input of per-sample shape ``S``:

- an image (png, jpg, bmp, gif, tif, webp): one sample, read as the data pipeline reads images (floats
  in [0, 1]), resized to the input's height and width and laid out as the input wants it: (C, H, W)
  channels first, (H, W, C), (H, W), or flat (H*W*C in (H, W, C) order) for a flat input whose size is
  a square (grayscale) or three times a square (RGB);
- a CSV/TSV file: one sample per row, numbers only (a first row that is not numbers is a header);
- a ``.npy`` array: one sample of shape ``S`` (or of its size), or several along the first axis.

Every problem with a file raises :class:`PredictInputError` naming the file (and the row).
:func:`read_samples` stops at the first bad file (the CLI's contract: nothing is written then);
:func:`read_files` skips bad files and returns their errors, so the good ones still predict.

Predicting
----------
:func:`predict` runs the network in inference mode and applies the loss head's prediction (softmax,
sigmoid), giving one row of values per sample; :func:`predictions` wraps them with where each sample
came from as a :class:`Predictions` table (CSV columns ``file, sample, class, probability, p_<class>…``
for classifiers, ``file, sample, output_0…`` otherwise) that :func:`write_csv` writes atomically.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np

from engine.predict.files import (
    IMAGE_SUFFIXES,
    TABLE_SUFFIXES,
    PredictInputError,
    input_summary,
    read_file,
    read_files,
    read_samples,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "TABLE_SUFFIXES",
    "PredictInputError",
    "network_input",
    "spec_input",
    "input_summary",
    "read_file",
    "read_samples",
    "read_files",
    "predict",
    "predictions",
    "Predictions",
    "write_csv",
    "load_network",
    "DEFAULT_BATCH_SIZE",
]

DEFAULT_BATCH_SIZE = 256


# ---------------------------------------------------------------------------------------------- network
def load_network(path):
    """The trained network stored in a checkpoint (spec, parameters and buffers), on the CPU.

    Returns
    -------
    (Network, dict)
        The network and the checkpoint's meta (counters, history, ...).

    Raises
    ------
    engine.checkpoint.CheckpointError
        The file is missing or not a readable checkpoint.
    PredictInputError
        The stored network cannot be rebuilt.
    """
    import numpy as np

    from engine import checkpoint, checkpoint_guard
    from engine.network import Network

    checkpoint_guard.checked(path)  # a damaged file is refused in a child, never hangs this process
    content = checkpoint.load(path)
    for key, array in (*content["parameters"].items(), *content["buffers"].items()):
        if not isinstance(array, np.ndarray) or (array.dtype.kind == "f" and not np.isfinite(array).all()):
            raise checkpoint.CheckpointError(
                f"{key} holds non-finite values (NaN or infinity)", os.fspath(path)
            )
    try:
        net = Network.from_spec(content["spec"])
        net.load_parameters(content["parameters"])
        if content["buffers"]:
            net.load_buffers(content["buffers"])
    except ValueError as exc:  # NetworkError / LayerError: the stored network does not build
        raise PredictInputError(
            f"{path}: the stored network cannot be rebuilt ({exc})", os.fspath(path)
        ) from None
    return net, content["meta"]


def network_input(network) -> tuple[str, tuple, bool]:
    """``(name, per-sample shape, integer)`` of a one-input network's input.

    Raises
    ------
    PredictInputError
        For a network with several inputs (predicting from files handles one).
    """
    if len(network.input_names) != 1:
        raise PredictInputError(
            f"the network takes {len(network.input_names)} inputs; predicting from files handles "
            "one-input networks"
        )
    name = network.input_names[0]
    integer = getattr(network.layers[name], "dtype", "float") == "int"
    return name, tuple(int(d) for d in network.input_shapes[name]), integer


def spec_input(spec: dict) -> tuple[str, tuple, bool]:
    """``(name, per-sample shape, integer)`` of a network spec's one input, read from the spec alone
    (nothing built), so prediction files are checked before the network is made.

    Raises
    ------
    PredictInputError
        For several inputs, or an input node without a usable shape.
    """
    names = spec.get("inputs") if isinstance(spec, dict) else None
    if not isinstance(names, list) or len(names) != 1:
        count = len(names) if isinstance(names, list) else 0
        raise PredictInputError(
            f"the network takes {count} inputs; predicting from files handles one-input networks"
        )
    node = next((n for n in spec.get("nodes", []) if isinstance(n, dict) and n.get("name") == names[0]), {})
    shape = node.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d > 0 for d in shape):
        raise PredictInputError(f"the network's input {names[0]!r} has no usable shape ({shape!r})")
    return str(names[0]), tuple(shape), node.get("dtype") == "int"


# ---------------------------------------------------------------------------------------------- predicting
def predict(network, inputs, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """The network's predictions for ``inputs``, after its loss head's prediction.

    Parameters
    ----------
    network : engine.network.Network
        One input; with several outputs, the loss head's (or the first) is used.
    inputs : ndarray, shape (N, *input_shape)
    batch_size : int
        Samples per forward pass (memory bound only: the values do not depend on it beyond rounding).

    Returns
    -------
    ndarray, shape (N, K), on the host
        Probabilities for a ``softmax_cross_entropy`` (K classes) or ``binary_cross_entropy`` head,
        raw outputs (flattened per sample) otherwise.
    """
    from engine.autodiff import no_grad

    head = network.loss_head
    outputs = []
    with no_grad():
        for start in range(0, len(inputs), int(batch_size)):
            out = network(inputs[start : start + int(batch_size)], training=False)
            if isinstance(out, dict):
                out = out[head.name] if head is not None and head.name in out else next(iter(out.values()))
            if head is not None:
                out = head.predict(out)
            outputs.append(np.asarray(network.backend.to_host(out.data)))
    if not outputs:
        return np.zeros((0, 0), np.float32)
    return np.concatenate(outputs).reshape(len(inputs), -1)


@dataclasses.dataclass
class Predictions:
    """A table of predictions, one row per sample.

    Attributes
    ----------
    origins : list of (str, int)
        File and 1-based sample number within it.
    values : ndarray, shape (N, K)
        What :func:`predict` returned.
    classifier : bool
        A ``softmax_cross_entropy`` network: the rows carry the best class and its probability.
    class_names : list of str
        K names (given classes when there are K of them, else ``"0"``, ``"1"``, ...); empty for
        non-classifiers.
    """

    origins: list
    values: np.ndarray
    classifier: bool
    class_names: list

    def __len__(self) -> int:
        return len(self.origins)

    @property
    def header(self) -> list[str]:
        """The CSV header: ``file, sample, class, probability, p_<class>…`` or ``file, sample, output_i…``."""
        if self.classifier:
            return ["file", "sample", "class", "probability", *[f"p_{n}" for n in self.class_names]]
        width = self.values.shape[1] if self.values.ndim == 2 else 0
        return ["file", "sample", *[f"output_{i}" for i in range(width)]]

    def best(self, i: int) -> tuple[str, float]:
        """The class name and probability of sample ``i`` (classifiers only)."""
        k = int(np.argmax(self.values[i]))
        return self.class_names[k], float(self.values[i][k])

    def rows(self):
        """The CSV rows as lists of cells (strings; values with 6 significant digits)."""
        for i, ((file, sample), v) in enumerate(zip(self.origins, self.values)):
            cells = [f"{x:.6g}" for x in v]
            if self.classifier:
                name, p = self.best(i)
                cells = [name, f"{p:.6g}", *cells]
            yield [file, str(sample), *cells]


def predictions(network, inputs, origins, classes=None, batch_size: int = DEFAULT_BATCH_SIZE) -> Predictions:
    """Run :func:`predict` and label the rows.

    Parameters
    ----------
    network : Network
    inputs : ndarray, shape (N, *input_shape)
    origins : list of (str, int), length N
    classes : sequence of str, optional
        Class names, used when there is one per output of a classifier.
    """
    values = predict(network, inputs, batch_size)
    head = network.loss_head
    classifier = head is not None and head.type_name == "softmax_cross_entropy"
    width = values.shape[1] if values.ndim == 2 else 0
    names = []
    if classifier:
        given = [str(c) for c in classes] if classes is not None else []
        names = given if len(given) == width else [str(i) for i in range(width)]
    return Predictions(list(origins), values, classifier, names)


def write_csv(table: Predictions, path=None) -> None:
    """Write ``table`` as CSV to ``path`` (stdout when None).

    The file is written under a temporary name and renamed when complete: a failure never leaves a
    half-written CSV in place of the user's previous one.
    """
    tmp = Path(path).with_name(f".{Path(path).name}.tmp-{os.getpid()}") if path else None
    out = open(tmp, "w", newline="", encoding="utf-8") if tmp else sys.stdout
    try:
        writer = csv.writer(out)
        writer.writerow(table.header)
        writer.writerows(table.rows())
        if tmp:
            out.close()
            os.replace(tmp, path)
    finally:
        if tmp:
            out.close()
            tmp.unlink(missing_ok=True)
