#!/usr/bin/env bash
# The GPU check, in one call on a machine lent a GPU (under 5 minutes):
#   1. the CUDA tests:   python -m pytest -m gpu tests/engine
#   2. the GPU benchmark: our engine on CuPy against PyTorch on the same GPU (bench/gpu_bench.py),
#      the four workloads of `python -m bench train` (W1 MLP, W2 CNN, W3 LSTM/GRU, W4 coordinate MLP).
# Needs python with numpy, cupy, torch, h5py, psutil, pytest, hypothesis (no Qt). Results go to $OUT
# (default /tmp/sigma-gpu-check): pytest.txt, gpu_bench.txt, gpu_bench.json, summary.txt.
# Usage: tools/gpu_check.sh            (or OUT=/some/dir tools/gpu_check.sh; BENCH_SECONDS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-${TMPDIR:-/tmp}/sigma-gpu-check}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
PY="${PYTHON:-python}"
TESTS_TIMEOUT="${TESTS_TIMEOUT:-170}"
BENCH_TIMEOUT="${BENCH_TIMEOUT:-100}"
BENCH_SECONDS="${BENCH_SECONDS:-2}"

section() { printf '\n===== %s (%s) =====\n' "$1" "$(date -u +%H:%M:%S)"; }

section "environment"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || echo "nvidia-smi: unavailable"
"$PY" - <<'EOF' 2>&1 || true
import sys
print("python", sys.version.split()[0])
for name in ("numpy", "cupy", "torch", "h5py", "pytest", "hypothesis"):
    try:
        module = __import__(name)
        print(f"{name} {getattr(module, '__version__', '?')}")
    except Exception as exc:
        print(f"{name}: unavailable ({type(exc).__name__}: {exc})")
from engine.backend import cuda_status
print("engine CUDA:", cuda_status())
EOF

section "CUDA tests (timeout ${TESTS_TIMEOUT}s)"
tests_status=0
# -m gpu replaces the project's default "-m 'not gpu and not slow'"; collection errors (a missing
# optional package in one module) must not hide the other modules' results.
timeout "$TESTS_TIMEOUT" "$PY" -m pytest -m gpu -q -rs --continue-on-collection-errors \
  -p no:cacheprovider tests/engine 2>&1 | tee "$OUT/pytest.txt" || tests_status=$?
echo "pytest exit status: $tests_status"

section "GPU benchmark: engine on CuPy vs PyTorch (timeout ${BENCH_TIMEOUT}s)"
bench_status=0
timeout "$BENCH_TIMEOUT" "$PY" -m bench.gpu_bench --seconds "$BENCH_SECONDS" --rounds 4 \
  --json "$OUT/gpu_bench.json" 2>&1 | tee "$OUT/gpu_bench.txt" || bench_status=$?
echo "benchmark exit status: $bench_status"

section "summary"
{
  echo "CUDA tests: $(tail -n 1 "$OUT/pytest.txt" 2>/dev/null) (exit $tests_status)"
  echo "benchmark: exit $bench_status"
  sed -n '/^ms per training step/,$p' "$OUT/gpu_bench.txt" 2>/dev/null || true
} | tee "$OUT/summary.txt"
[ "$tests_status" -eq 0 ] && [ "$bench_status" -eq 0 ]
