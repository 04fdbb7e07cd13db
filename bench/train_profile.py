"""``python -m bench train --profile W1[:implementation]``: a pyinstrument tree of one implementation's
training steps of a workload, in this process (the timing of ``bench/train_bench.py`` is not involved)."""

from __future__ import annotations

from bench import harness
from bench.train_bench import _build
from bench.workloads import get, make_data

__all__ = ["profile"]


def profile(name: str, implementation: str = "engine", seconds: float = 3.0, tiny: bool = False) -> str:
    """Profile one implementation's steps of a workload in this process with pyinstrument; the text tree."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return "pyinstrument is not installed (pip install pyinstrument)"
    harness.tune_allocator()
    workload = get(name)
    config = workload.config(tiny)
    x, y = make_data(workload, config)
    step, reason = _build(implementation, workload, config, x, y)
    if step is None:
        return f"{workload.name}: {implementation}: not available ({reason})"
    harness.time_block(step, 0.5, min_steps=2)
    profiler = Profiler(interval=0.0005)
    # `fit` and `studio` train in a thread of their own (the timing thread only waits on the bench's
    # gate), and pyinstrument samples only the thread that starts it: there it is started and stopped,
    # at the start of the next timed call.
    in_fit_thread = getattr(step, "in_fit_thread", None)
    if in_fit_thread is None:
        profiler.start()
    else:
        in_fit_thread(profiler.start)
    ms, steps = harness.time_block(step, seconds)
    if in_fit_thread is None:
        profiler.stop()
    else:
        in_fit_thread(profiler.stop)
        step()  # the stop runs before this call's iterations
    head = f"{workload.name} {implementation}: {ms:.2f} ms/step over {steps} steps (profiled, so slower)\n"
    return head + profiler.output_text(unicode=False, color=False, show_all=False)
