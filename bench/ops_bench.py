"""``python -m bench ops``: forward+backward of single ops, our engine against hand-written numpy.

Cases (float32): matmul 1024x1024 @ 1024x1024; conv2d batch 64, 32->32 channels, 32x32, 3x3, pad 1,
with bias; softmax cross-entropy on 4096x1000 logits with integer targets. Each is timed through the
engine's public API (``engine.tensor``, ``engine.ops``, ``Tensor.backward``) and as a hand-written numpy
version of the same computation, in the same process, interleaved (the order alternates every
repetition), and medians of the repetitions are reported: the ratio of the medians, and the median of
the per-repetition ratios ("paired", the verdict), which is steadier on a shared machine whose slow
phases last seconds. Both sides are checked to agree first.
The hand-written conv is the fastest plain-numpy im2col we found for NCHW: one strided copy into
(N, C*9, H*W) columns, a batched GEMM, and a col2im of nine strided slice additions.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import platform
import statistics
import sys
import time

import numpy as np

TARGETS = {"matmul": 1.10, "conv2d": 1.10, "softmax_cross_entropy": None}


# ---------------------------------------------------------------------- hand-written numpy
def numpy_matmul(a, b, g):
    y = a @ b
    return y, g @ b.T, a.T @ g


def numpy_conv2d(x, w, b, g):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2, wd + 2), x.dtype)
    xp[:, :, 1:-1, 1:-1] = x
    s = xp.strides
    view = np.lib.stride_tricks.as_strided(xp, (n, c, kh, kw, h, wd), (s[0], s[1], s[2], s[3], s[2], s[3]))
    cols = np.ascontiguousarray(view).reshape(n, c * kh * kw, h * wd)
    wm = w.reshape(o, -1)
    y = wm @ cols
    y += b.reshape(1, -1, 1)
    y = y.reshape(n, o, h, wd)
    g3 = g.reshape(n, o, h * wd)
    gw = (g3 @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    gb = g.sum(axis=(0, 2, 3))
    dcols = (wm.T @ g3).reshape(n, c, kh, kw, h, wd)
    dxp = np.zeros_like(xp)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i : i + h, j : j + wd] += dcols[:, :, i, j]
    return y, dxp[:, :, 1:-1, 1:-1], gw, gb


def numpy_softmax_ce(x, t):
    n = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(np.log(s[:, 0]).mean() - shifted[rows, t].mean())
    e /= s
    e[rows, t] -= 1
    e *= 1.0 / n
    return loss, e


# ---------------------------------------------------------------------- the same through the engine
# Inputs arrive as arrays on the engine's device; outputs are returned without copying them back.
def engine_matmul(a, b, g):
    import engine

    ta, tb = engine.tensor(a, requires_grad=True), engine.tensor(b, requires_grad=True)
    y = ta @ tb
    y.backward(g)
    return y.data, ta.grad.data, tb.grad.data


def engine_conv2d(x, w, b, g):
    import engine

    tx, tw, tb = (engine.tensor(v, requires_grad=True) for v in (x, w, b))
    y = engine.ops.conv2d(tx, tw, tb, padding=1)
    y.backward(g)
    return y.data, tx.grad.data, tw.grad.data, tb.grad.data


def engine_softmax_ce(x, t):
    import engine

    tx = engine.tensor(x, requires_grad=True)
    loss = engine.ops.softmax_cross_entropy(tx, t)
    loss.backward()
    return loss.data, tx.grad.data


def make_cases(rng):
    """(name, engine_fn, numpy_fn, args) for each case, inputs float32 from ``rng``."""
    f32 = np.float32
    a, b, g = (rng.standard_normal((1024, 1024), dtype=f32) for _ in range(3))
    x = rng.standard_normal((64, 32, 32, 32), dtype=f32)
    w = (rng.standard_normal((32, 32, 3, 3), dtype=f32) * 0.1).astype(f32)
    bias = rng.standard_normal(32, dtype=f32)
    gy = rng.standard_normal((64, 32, 32, 32), dtype=f32)
    logits = rng.standard_normal((4096, 1000), dtype=f32) * 3
    targets = rng.integers(0, 1000, 4096)
    return [
        ("matmul", engine_matmul, numpy_matmul, (a, b, g)),
        ("conv2d", engine_conv2d, numpy_conv2d, (x, w, bias, gy)),
        ("softmax_cross_entropy", engine_softmax_ce, numpy_softmax_ce, (logits, targets)),
    ]


def _check_agree(name, ours, ref, backend):
    for i, (p, q) in enumerate(zip(ours, ref)):
        p, q = np.asarray(backend.to_host(p), np.float64), np.asarray(q, np.float64)
        scale = max(1.0, float(np.abs(q).max()))
        err = float(np.abs(p - q).max()) / scale
        if err > 1e-3:
            raise AssertionError(
                f"{name}: output {i} of the engine differs from numpy by {err:.3g} (relative)"
            )


def _tune_allocator():
    """Raise glibc's mmap/trim thresholds (see PERFORMANCE.md): big temporaries are then reused instead of
    page-faulted in fresh every call. Applies to both sides alike. Returns a note for the report."""
    if platform.system() != "Linux":
        return "allocator: default"
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 1 << 30) and libc.mallopt(m_trim_threshold, 1 << 31)
    except OSError:
        return "allocator: default"
    return (
        "allocator: glibc mallopt (mmap threshold 1 GiB, trim threshold 2 GiB)"
        if ok
        else "allocator: default"
    )


def run(repeat: int, warmup: int, only=None, seed: int = 0, backend="cpu"):
    """Time every case; returns a list of result dicts.

    With a CUDA ``backend`` the engine runs on the GPU (inputs copied there once, the device synchronised
    before each timer stops) while the numpy side stays on the CPU: the ratio is then a speed-up, not a
    check of overhead.
    """
    from engine.backend import get_backend

    backend = get_backend(backend)
    rng = np.random.default_rng(seed)
    cases = [c for c in make_cases(rng) if only is None or c[0] in only]
    dev_args = {name: tuple(backend.from_host(a) for a in args) for name, _, _, args in cases}

    def on_device(fn, name):
        def timed():
            out = fn(*dev_args[name])
            backend.synchronize()
            return out

        return timed

    for name, ours, ref, args in cases:
        _check_agree(name, on_device(ours, name)(), ref(*args), backend)
    times = {name: {"engine": [], "numpy": []} for name, *_ in cases}
    for rep in range(warmup + repeat):
        for name, ours, ref, args in cases:
            mine, theirs = on_device(ours, name), (lambda ref=ref, args=args: ref(*args))
            order = (
                (("engine", mine), ("numpy", theirs))
                if rep % 2 == 0
                else (("numpy", theirs), ("engine", mine))
            )
            for side, fn in order:
                start = time.perf_counter()
                fn()
                elapsed = time.perf_counter() - start
                if rep >= warmup:
                    times[name][side].append(elapsed)
    results = []
    for name, *_ in cases:
        e, n = times[name]["engine"], times[name]["numpy"]
        me, mn = statistics.median(e), statistics.median(n)
        results.append(
            {
                "case": name,
                "engine_ms": me * 1e3,
                "numpy_ms": mn * 1e3,
                "ratio": me / mn,
                # Each repetition times both sides back to back: the median of those per-repetition
                # ratios shrugs off the busy machine's slow phases better than a ratio of medians.
                "paired_ratio": statistics.median(a / b for a, b in zip(e, n)),
                "engine_min_ms": min(e) * 1e3,
                "numpy_min_ms": min(n) * 1e3,
                "repeat": len(e),
                "target": TARGETS[name] if not backend.is_cuda else None,
                "backend": backend.name,
            }
        )
    return results


def format_table(results) -> str:
    """The results as a text table: medians and their ratio, the median of per-repetition ratios (the
    verdict: each repetition runs both sides back to back) and the ratio of the fastest runs."""
    lines = [
        f"{'case':24s} {'engine ms':>10s} {'numpy ms':>10s} {'ratio':>7s} {'paired':>7s} {'min':>7s} "
        f"{'target':>7s}  verdict",
        "-" * 83,
    ]
    for r in results:
        target = r["target"]
        verdict = "" if target is None else ("met" if r["paired_ratio"] <= target else "MISSED")
        min_ratio = r["engine_min_ms"] / r["numpy_min_ms"]
        lines.append(
            f"{r['case']:24s} {r['engine_ms']:10.2f} {r['numpy_ms']:10.2f} {r['ratio']:7.3f} "
            f"{r['paired_ratio']:7.3f} {min_ratio:7.3f} "
            f"{'-' if target is None else f'{target:.2f}':>7s}  {verdict}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ops", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed repetitions per case (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed repetitions first")
    parser.add_argument("--only", nargs="+", choices=list(TARGETS), help="run only these cases")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    parser.add_argument(
        "--backend", default="cpu", help="engine backend: cpu (default) or cuda[:N] (numpy stays on the CPU)"
    )
    parser.add_argument(
        "--default-allocator", action="store_true", help="leave glibc's malloc thresholds alone"
    )
    args = parser.parse_args(argv)
    note = "allocator: default" if args.default_allocator else _tune_allocator()
    results = run(args.repeat, args.warmup, args.only, backend=args.backend)
    print(
        f"python -m bench ops: float32, engine on {results[0]['backend']}, "
        f"median of {args.repeat} interleaved "
        f"repetitions; {note}"
    )
    print(format_table(results))
    if args.json:
        payload = {
            "bench": "ops",
            "numpy": np.__version__,
            "python": sys.version.split()[0],
            "machine": platform.machine(),
            "note": note,
            "results": results,
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2)
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
