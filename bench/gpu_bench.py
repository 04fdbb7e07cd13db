"""Our engine on CuPy against PyTorch on the same GPU, in the same run: ms per training step.

``python -m bench.gpu_bench [--workloads W1,W2,...] [--seconds S] [--rounds R] [--json PATH]``

The workloads are those of ``python -m bench train`` (``bench/workloads``: W1 MLP, W2 CNN, W3 LSTM and
GRU, W4 coordinate MLP) at their full sizes. One training step = forward + loss + backward + optimiser
update on one fixed batch, float32. Three implementations per workload, in one process:

- ``engine``: ``Trainer(..., backend="cuda")``; a step is ``operator.compute(batch)`` then
  ``optimiser.step`` (the operator copies the host batch to the device, as in training);
- ``torch``: the same model in PyTorch on the GPU, the batch copied from the host each step;
- ``torch-resident``: PyTorch with the batch already on the GPU (the floor for the copies).

Timing: after a warm-up (CuPy compiles its kernels on first use), ``--rounds`` rounds; in each round
every implementation runs for ``--seconds / --rounds`` seconds in an order that rotates between rounds,
with a device synchronisation before the clock starts and before it stops. The figure is the median
over rounds of ms/step, and the ratio engine / torch. Nothing here needs a GPU to import; without
CuPy or PyTorch the rows say why they are missing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.workloads import WORKLOADS, Unavailable, get, make_data  # noqa: E402

__all__ = ["main", "build_engine", "build_torch"]

IMPLS = ("engine", "torch", "torch-resident")


def build_engine(workload, config, x, y, seed=0, device="cuda"):
    """``(step, sync)`` for our engine on CUDA (``device="cpu"``: a dry run of this script's code)."""
    from engine.backend import cuda_status, get_backend

    ok, why = cuda_status()
    if device == "cuda" and not ok:
        raise Unavailable(why)
    from bench.workloads.engine_steps import _architecture, _engine

    layers, optim, Network, Trainer = _engine()
    arch, loss = _architecture(layers, workload.kind, config)
    network = Network(arch, seed=seed)
    if workload.kind == "mlp_ce":
        optimiser = optim.Momentum(learning_rate=config["lr"], momentum=0.9)
    else:
        optimiser = optim.Adam(learning_rate=config["lr"])
    backend = get_backend(device)
    trainer = Trainer(
        network, optimiser=optimiser, loss=loss, batch_size=config["batch"], seed=seed, backend=backend
    )
    operator = trainer.operator
    operator.workers = operator.make_workers()  # what Operator.run sets up before its loop
    operator.parameters = dict(trainer.network.parameters())
    params, batch = operator.parameters, {"inputs": x, "targets": y}

    def step():
        # as Operator._iteration: counters advance, so local hooks (the NaN guard: every 20 iterations on
        # a GPU) run when they would in training, not at every step
        for worker in operator.workers:
            worker.iteration = trainer.iteration
        result = operator.compute(batch)
        optimiser.step(params)
        trainer.iteration += 1
        return result.loss

    return step, backend.synchronize


def build_torch(workload, config, x, y, seed=0, resident=False, device="cuda"):
    """``(step, sync)`` for PyTorch on CUDA (batch copied from the host each step unless ``resident``)."""
    try:
        import torch
    except Exception as exc:
        raise Unavailable(f"PyTorch is not installed ({type(exc).__name__})") from exc
    if device == "cuda" and not torch.cuda.is_available():
        raise Unavailable("PyTorch sees no CUDA device")
    from bench.workloads.torch_steps import _model

    torch.manual_seed(seed)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    device = torch.device(device)
    model = _model(torch, workload.kind, config).to(device)
    xh, yh = torch.from_numpy(x), torch.from_numpy(y)
    xd, yd = xh.to(device), yh.to(device)
    if workload.kind == "mlp_ce":
        opt = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=config["lr"])
    loss_fn = torch.nn.MSELoss() if workload.kind == "coord_mlp" else torch.nn.CrossEntropyLoss()

    def step():
        xs, ys = (xd, yd) if resident else (xh.to(device), yh.to(device))
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs), ys)
        loss.backward()
        opt.step()
        return loss

    return step, sync


def _build(impl, workload, config, x, y, device):
    if impl == "engine":
        return build_engine(workload, config, x, y, device=device)
    return build_torch(workload, config, x, y, resident=impl == "torch-resident", device=device)


def _block(step, sync, seconds: float) -> float:
    """Steps for about ``seconds``; returns ms per step (device work included)."""
    sync()
    start, n = time.perf_counter(), 0
    deadline = start + seconds
    while True:
        for _ in range(5):
            step()
        n += 5
        if time.perf_counter() >= deadline:
            sync()
            if time.perf_counter() >= deadline:
                break
    return (time.perf_counter() - start) * 1000.0 / n


def bench_workload(workload, seconds: float, rounds: int, warmup: float, device: str = "cuda") -> dict:
    config = workload.config()
    x, y = make_data(workload, config)
    runners, rows = {}, {}
    for impl in IMPLS:
        try:
            step, sync = _build(impl, workload, config, x, y, device)
            step()  # first call: CuPy compiles kernels, cuBLAS/cuDNN pick algorithms
            sync()
            _block(step, sync, warmup)
            runners[impl] = (step, sync)
        except Unavailable as exc:
            rows[impl] = {"error": f"not available ({exc})"}
        except Exception as exc:  # a failing implementation must not hide the others' figures
            rows[impl] = {"error": f"failed ({type(exc).__name__}: {exc})"}
    samples = {impl: [] for impl in runners}
    order = list(runners)
    for r in range(rounds):
        turn = order[r % len(order) :] + order[: r % len(order)] if order else []
        for impl in turn:
            step, sync = runners[impl]
            samples[impl].append(_block(step, sync, seconds / rounds))
    for impl, values in samples.items():
        rows[impl] = {"ms": statistics.median(values), "min": min(values), "max": max(values)}
    return rows


def _table(results: dict) -> str:
    lines = [
        f"{'workload':10s} {'engine ms':>10s} {'torch ms':>10s} {'torch-res ms':>13s} {'engine/torch':>13s}"
        f" {'engine/torch-res':>17s}"
    ]
    notes = []
    for name, rows in results.items():

        def ms(impl, rows=rows):
            row = rows.get(impl, {})
            return row.get("ms")

        e, t, tr = ms("engine"), ms("torch"), ms("torch-resident")
        fmt = lambda v: f"{v:10.3f}" if v is not None else f"{'-':>10s}"  # noqa: E731
        ratio = lambda a, b: f"{a / b:13.2f}" if a is not None and b else f"{'-':>13s}"  # noqa: E731
        lines.append(f"{name:10s} {fmt(e)} {fmt(t)} {fmt(tr):>13s} {ratio(e, t)} {ratio(e, tr):>17s}")
        for impl, row in rows.items():
            if "error" in row:
                notes.append(f"  {name} {impl}: {row['error']}")
    return "\n".join(lines + (["", "missing:", *notes] if notes else []))


def _environment() -> dict:
    info = {"python": sys.version.split()[0]}
    try:
        import numpy

        info["numpy"] = numpy.__version__
    except Exception:
        pass
    try:
        import cupy

        info["cupy"] = cupy.__version__
        info["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    except Exception as exc:
        info["cupy"] = f"unavailable ({type(exc).__name__})"
    try:
        import torch

        info["torch"] = torch.__version__
    except Exception as exc:
        info["torch"] = f"unavailable ({type(exc).__name__})"
    return info


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gpu_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated (default: all)")
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per implementation and workload")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    p.add_argument("--warmup", type=float, default=0.5, help="seconds of warm-up after the first step")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument(
        "--cpu", action="store_true", help="run everything on the CPU (checks this script, no GPU)"
    )
    args = p.parse_args(argv)
    env = _environment()
    print("environment: " + ", ".join(f"{k} {v}" for k, v in env.items()), flush=True)
    results = {}
    for name in args.workloads.split(","):
        workload = get(name)
        t0 = time.perf_counter()
        device = "cpu" if args.cpu else "cuda"
        results[workload.name] = bench_workload(
            workload, args.seconds, max(1, args.rounds), args.warmup, device
        )
        rows = results[workload.name]
        got = ", ".join(f"{impl} {row['ms']:.3f} ms" for impl, row in rows.items() if "ms" in row)
        print(
            f"  {workload.name}: {workload.title} ({time.perf_counter() - t0:.1f} s): {got or '-'}",
            flush=True,
        )
    print()
    print("ms per training step (median of interleaved rounds; ratio < 1: the engine is faster)")
    print(_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"environment": env, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
