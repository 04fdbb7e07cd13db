"""``python -m bench <name> [args]``: run ``bench.<name>_bench.main(argv)``.

Names: ops (single ops against hand-written numpy), train (training steps), data (data pipeline),
workers (multi-worker scaling), gui (studio responsiveness), gpu (the engine on CUDA against
PyTorch on the same GPU), memory (the memory estimate against measured peak RSS), paint (time to paint
the cat sharp, old network against new), soak (memory over a long run), health and live (what the
layer-health hook and the run-folder writer cost per step).
"""

from __future__ import annotations

import importlib
import sys

BENCHES = {
    "ops": "forward+backward of matmul, conv2d and softmax cross-entropy vs hand-written numpy",
    "train": "training steps (MLP, CNN, LSTM/GRU, coordinate MLP) vs numpy and PyTorch",
    "data": "data loading and minibatch iteration throughput",
    "workers": "multi-worker training scaling",
    "gui": "studio responsiveness under a live training run",
    "gpu": "the engine on CUDA against PyTorch on the same GPU (needs CuPy and a GPU)",
    "health": "what the LayerHealth hook costs per training step on W1 and W2",
    "live": "what recording a run into its live run folder costs per training step on W1 and W2",
    "memory": "the memory estimate before training against the measured peak RSS increase",
    "paint": "time to paint the cat to 25/28/30 dB PSNR, old ReLU network vs Fourier features",
    "soak": "RSS slope of an hour-long training run with per-iteration hooks on (goal < 0.1 MB/min)",
}


def _usage() -> str:
    lines = [
        "usage: python -m bench <name> [args]   (python -m bench <name> --help for its options)",
        "",
        "benchmarks:",
    ]
    lines += [f"  {name:8s} {text}" for name, text in BENCHES.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in BENCHES:
        print(f"unknown benchmark {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(f"bench.{name}_bench")
    except ModuleNotFoundError as exc:
        if exc.name != f"bench.{name}_bench":
            raise
        print(f"benchmark {name!r} is not available yet (bench/{name}_bench.py is missing)", file=sys.stderr)
        return 2
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
