"""Before training: how much memory and time a run will take, and the largest batch that fits.

:func:`estimate_cost` works from the engine's own shape inference, layer by layer, without running
anything; :func:`largest_batch` measures: it runs real training steps at trial batch sizes and backs off
until the measured peak fits the budget.

The memory model (bytes, ``s`` = bytes per value: 4 for float32)
----------------------------------------------------------------
- parameters ``P``, their gradients ``P``, optimiser state ``slots * P`` (Adam 2, momentum 1, SGD 0),
  and the optimiser's step workspace: two arrays the size of the largest parameter.
- forward activations kept for the backward pass, per layer and per sample: the layer's output, once
  more when it has a separate activation (pre-activation and activation), the lowered patches of a
  convolution (``C_in * kh * kw`` values per output position) and the argmax indices of a max pooling
  (int64, two values' worth); views (flatten, reshape) keep nothing; the loss keeps its probabilities.
- backward: the peak is all forward activations plus the largest layer's transient gradients (twice
  its output, its input, and a convolution's patches once more).
- the batch itself, and the data set held in memory (shown apart: it is there before training starts).
- the framework's fixed working set (BLAS buffers, code first run): 4 MiB, measured.

Checked against the measured peak RSS increase of the engine's training step in
``python -m bench memory`` (W1 and W2 at batch 64 and 512: within 25 %).
"""

from __future__ import annotations

import math
import time
import tracemalloc
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "LayerCost",
    "CostEstimate",
    "estimate_cost",
    "machine_flops",
    "largest_batch",
    "measure_peak",
    "memory_budget",
]

#: State arrays per parameter, by optimiser type (unknown types count 2, like Adam).
OPTIMISER_SLOTS = {
    "sgd": 0,
    "momentum": 1,
    "nesterov": 1,
    "adagrad": 1,
    "rmsprop": 1,
    "lion": 1,
    "adadelta": 2,
    "adam": 2,
    "adamw": 2,
    "adamax": 2,
}
FIXED_WORKSET = 4 * 2**20  # bytes: BLAS buffers and lazily made code objects, measured on W1/W2
_VIEWS = ("flatten", "reshape", "input", "identity")


@dataclass(frozen=True)
class LayerCost:
    """One layer's share, per batch of ``batch_size`` samples (bytes)."""

    name: str
    type: str
    output_shape: tuple
    parameters: int
    forward_bytes: int
    backward_bytes: int
    flops: int


@dataclass
class CostEstimate:
    """What a training step at ``batch_size`` needs (bytes and seconds).

    Attributes
    ----------
    total_bytes : int
        Peak training memory besides the data set: parameters, gradients, optimiser state and workspace,
        forward activations, the largest backward transient, the batch and the fixed working set.
    seconds_per_epoch : float or None
        From the forward FLOPs (x3 for forward and backward) and the machine's measured rate, when the
        number of samples per epoch is known.
    """

    batch_size: int
    itemsize: int
    parameters_bytes: int
    gradients_bytes: int
    optimiser_bytes: int
    workspace_bytes: int
    forward_bytes: int
    backward_bytes: int
    batch_bytes: int
    data_bytes: int = 0
    fixed_bytes: int = FIXED_WORKSET
    flops_per_sample: int = 0
    seconds_per_epoch: float | None = None
    layers: list[LayerCost] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return (
            self.parameters_bytes
            + self.gradients_bytes
            + self.optimiser_bytes
            + self.workspace_bytes
            + self.forward_bytes
            + self.backward_bytes
            + self.batch_bytes
            + self.fixed_bytes
        )

    def lines(self) -> list[str]:
        """Human-readable summary lines (the builder and the training panel show these)."""
        mib = _mib
        out = [
            f"batch {self.batch_size}: about {mib(self.total_bytes)} to train"
            + (f", plus {mib(self.data_bytes)} of data" if self.data_bytes else ""),
            f"parameters {mib(self.parameters_bytes)}, gradients {mib(self.gradients_bytes)}, "
            f"optimiser state {mib(self.optimiser_bytes)}",
            f"activations: forward {mib(self.forward_bytes)}, backward {mib(self.backward_bytes)}",
        ]
        if self.seconds_per_epoch is not None:
            out.append(f"about {_duration(self.seconds_per_epoch)} per epoch (from FLOPs)")
        return out


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB" if n < 2**30 else f"{n / 2**30:,.2f} GiB"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def _optimiser_type(optimiser) -> str:
    if isinstance(optimiser, dict):
        return str(optimiser.get("type", "adam")).lower()
    if isinstance(optimiser, str):
        return optimiser.lower()
    return type(optimiser).__name__.lower()


def _size(shape) -> int:
    return int(math.prod(int(d) for d in shape)) if shape else 1


def _layer_cost(net, name: str, layer, itemsize: int) -> tuple[int, int]:
    """Forward bytes kept and backward transient bytes of one layer, per sample."""
    info = net.node_info(name)
    kind = layer.type_name
    out = _size(info.output_shape)
    inputs = sum(_size(net.output_shape_of(i)) for i in info.inputs)
    if kind in _VIEWS:
        return 0, 0
    forward = out * (2 if getattr(layer, "activation", None) else 1)
    backward = 2 * out + inputs
    kernel = getattr(layer, "kernel_size", None)
    if kernel is not None and kind.startswith("conv"):
        channels_in = int(layer.input_shape[0]) if layer.input_shape else 1
        positions = out // max(1, int(info.output_shape[0]))
        patches = positions * channels_in * _size(kernel)
        forward += patches
        backward += patches
    if "pool" in kind and kind.startswith("max"):
        forward += 2 * out  # argmax indices, int64
    if getattr(layer, "is_loss", False):
        forward = 2 * inputs  # probabilities and their gradient
        backward = inputs
    return forward * itemsize, backward * itemsize


def estimate_cost(
    network,
    batch_size: int,
    optimiser="adam",
    dtype=np.float32,
    data_bytes: int = 0,
    samples_per_epoch: int | None = None,
    flops_rate: float | None = None,
    loss_classes: int | None = None,
) -> CostEstimate:
    """Memory and time of training ``network`` at ``batch_size``, from shape inference alone.

    Parameters
    ----------
    network : engine.network.Network
    batch_size : int
    optimiser : str, dict or Optimiser
        Decides the optimiser state (see :data:`OPTIMISER_SLOTS`).
    dtype : numpy dtype
        The backend's float type (float32 by default).
    data_bytes : int
        The data set in memory, shown apart.
    samples_per_epoch : int, optional
        With it, ``seconds_per_epoch`` is filled from FLOPs and ``flops_rate``.
    flops_rate : float, optional
        FLOP/s of this machine; :func:`machine_flops` when None.
    loss_classes : int, optional
        Values per sample of a loss given to the trainer by name (not a layer of the network).
    """
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError(f"Invalid value for `batch_size`. Expected at least 1. Received: {batch_size}")
    itemsize = np.dtype(dtype).itemsize
    params = net_params = network.parameters()
    largest = max((int(p.size) for p in params.values()), default=0)
    total = sum(int(p.size) for p in net_params.values())
    layers = []
    forward = 0
    worst_backward = 0
    for name, layer in network.layers.items():
        f, b = _layer_cost(network, name, layer, itemsize)
        info = network.node_info(name)
        layers.append(
            LayerCost(
                name,
                layer.type_name,
                tuple(info.output_shape),
                int(layer.param_count()),
                f * batch_size,
                b * batch_size,
                int(info.flops or 0),
            )
        )
        forward += f
        worst_backward = max(worst_backward, b)
    if network.loss_head is None and loss_classes:
        forward += 2 * int(loss_classes) * itemsize
    batch_values = sum(_size(s) for s in network.input_shapes.values())
    slots = OPTIMISER_SLOTS.get(_optimiser_type(optimiser), 2)
    flops = int(network.flops())
    seconds = None
    if samples_per_epoch:
        rate = flops_rate or machine_flops()
        seconds = 3.0 * flops * int(samples_per_epoch) / rate
    return CostEstimate(
        batch_size=batch_size,
        itemsize=itemsize,
        parameters_bytes=total * itemsize,
        gradients_bytes=total * itemsize,
        optimiser_bytes=slots * total * itemsize,
        workspace_bytes=2 * largest * itemsize,
        forward_bytes=forward * batch_size,
        backward_bytes=worst_backward * batch_size,
        batch_bytes=batch_values * itemsize * batch_size,
        data_bytes=int(data_bytes),
        flops_per_sample=flops,
        seconds_per_epoch=seconds,
        layers=layers,
    )


_RATE: list[float] = []


def machine_flops() -> float:
    """This machine's float32 matrix-multiply rate in FLOP/s (measured once, about 50 ms)."""
    if not _RATE:
        a = np.ones((384, 384), np.float32)
        a @ a  # BLAS threads start
        start, runs = time.perf_counter(), 0
        while time.perf_counter() - start < 0.05:
            a @ a
            runs += 1
        _RATE.append(2 * 384**3 * runs / (time.perf_counter() - start))
    return _RATE[0]


# ---------------------------------------------------------------------------------------------- probe
def measure_peak(run, batch_size: int, steps: int = 1) -> int:
    """Peak bytes allocated by ``steps`` real training steps of ``run`` at ``batch_size``.

    numpy reports its array allocations to :mod:`tracemalloc`, so this counts exactly what the training
    step allocates (activations, gradients, optimiser state, temporaries). The run's parameters change:
    probe a run built for the purpose.
    """
    trainer = run.trainer
    data = run.train_data
    n = min(int(batch_size), len(data))
    index = np.arange(n)
    batch = {name: np.asarray(data[name][index]) for name in data.section_names}
    batch = {"inputs": batch["inputs"], "targets": batch["targets"]}
    operator = trainer.operator
    xp = trainer.backend.xp
    if xp is not np:  # a device: its memory pool keeps what the step needed at its peak
        pool = xp.get_default_memory_pool()
        pool.free_all_blocks()
        before = pool.total_bytes()
        operator.workers = operator.make_workers()
        operator.parameters = dict(trainer.network.parameters())
        batch = {k: trainer.backend.from_host(v) for k, v in batch.items()}
        for _ in range(steps):
            operator.compute(batch)
            trainer.optimiser.step(operator.parameters)
        return int(pool.total_bytes() - before)
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        operator.workers = operator.make_workers()
        operator.parameters = dict(trainer.network.parameters())
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(steps):
            operator.compute(batch)
            trainer.optimiser.step(operator.parameters)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return int(peak) + FIXED_WORKSET


def largest_batch(
    make_run, budget_bytes: int, start: int | None = None, limit: int | None = None, probes: int = 8
) -> tuple[int, list[tuple[int, int]]]:
    """The largest batch size whose measured training step fits ``budget_bytes``.

    Starts from the estimate's answer (or ``start``), measures a real step there
    (:func:`measure_peak`), backs off in proportion when it does not fit and grows while it fits with
    room, then settles between the largest fitting and the smallest failing size.

    Parameters
    ----------
    make_run : callable(batch_size) -> Run
        Builds the project's run at a batch size (``engine.run.build_run`` with ``record=False``).
    budget_bytes : int
        On CPU: the memory to stay under (e.g. 80 % of available RAM).
    limit : int, optional
        Largest batch worth trying (the number of training samples).

    Returns
    -------
    (int, list of (batch, peak bytes))
        The answer (0 when not even batch 1 fits) and every probe made.
    """
    budget = int(budget_bytes)
    run = make_run(1)
    limit = int(limit or len(run.train_data))
    if start is None:
        per = estimate_cost(run.trainer.network, 1, run.trainer.optimiser)
        per2 = estimate_cost(run.trainer.network, 2, run.trainer.optimiser)
        slope = max(1, per2.total_bytes - per.total_bytes)
        start = max(1, (budget - per.total_bytes) // slope + 1)
    fits, fails = 0, limit + 1
    batch = max(1, min(int(start), limit))
    probes_made: list[tuple[int, int]] = []
    for _ in range(probes):
        peak = measure_peak(make_run(batch), batch)
        probes_made.append((batch, peak))
        if peak <= budget:
            fits = max(fits, batch)
            if peak >= 0.95 * budget or batch >= limit:
                break  # close enough: the next size up would gain little
        else:
            fails = min(fails, batch)
        if fails - fits <= max(1, fits // 50):
            break
        # Memory grows linearly with the batch: aim at 97 % of the budget along the line through the
        # last two probes (through zero and the probe when there is one).
        if len(probes_made) >= 2 and probes_made[-2][0] != batch:
            b0, p0 = probes_made[-2]
            slope = max(1.0, (peak - p0) / (batch - b0))
            guess = batch + (0.97 * budget - peak) / slope
        else:
            guess = batch * 0.97 * budget / peak
        guess = max(fits + 1, min(fails - 1, int(guess)))
        if guess == batch:
            break
        batch = guess
    return fits, probes_made


def memory_budget(backend=None, fraction: float = 0.8) -> int:
    """Bytes a run may use: ``fraction`` of the available RAM on the CPU, of the free device memory on
    CUDA."""
    xp = getattr(backend, "xp", np)
    if xp is not np:
        free, _total = xp.cuda.Device().mem_info
        return int(fraction * free)
    import psutil

    return int(fraction * psutil.virtual_memory().available)
