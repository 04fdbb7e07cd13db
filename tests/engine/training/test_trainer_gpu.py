"""The trainer on CUDA: same results as the CPU within float32 tolerance, exact resume, host copies out.

Run with ``python -m pytest -m gpu tests/engine/training/test_trainer_gpu.py``; skipped without a GPU.
"""

import numpy as np
import pytest

from engine import checkpoint
from engine.backend import cuda_status
from engine.hooks import MetricReporter, every
from tests.engine.training.nets import blobs, small_trainer

pytestmark = pytest.mark.gpu

X, Y = blobs(n=96)
VX, VY = blobs(n=40, seed=6)


@pytest.fixture(autouse=True)
def need_cuda():
    ok, why = cuda_status()
    if not ok:
        pytest.skip(why)


def test_cuda_training_matches_the_cpu():
    cpu = small_trainer(seed=3)
    gpu = small_trainer(seed=3, backend="cuda")
    for t in (cpu, gpu):
        t.fit((X, Y), epochs=3, validation=(VX, VY))
    for k, p in cpu.parameters.items():
        np.testing.assert_allclose(gpu.parameters[k].data.get(), p.data, rtol=1e-3, atol=1e-4, err_msg=k)
    for a, b in zip(cpu.history, gpu.history):
        assert a.keys() == b.keys()
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=1e-3, abs=1e-4), key
    out = gpu.predict(VX)
    assert isinstance(out, np.ndarray) and out.shape == (40, 3)


def test_cuda_exact_resume_through_a_checkpoint(tmp_path):
    whole = small_trainer(seed=3, backend="cuda", hooks=[MetricReporter(every(2))])
    whole.fit((X, Y), epochs=10, validation=(VX, VY), max_iterations=8)
    half = small_trainer(seed=3, backend="cuda", hooks=[MetricReporter(every(2))])
    half.fit((X, Y), epochs=10, validation=(VX, VY), max_iterations=4)
    checkpoint.save(half, tmp_path / "half.h5")
    resumed = small_trainer(seed=3, backend="cuda", hooks=[MetricReporter(every(2))])
    checkpoint.restore(resumed, tmp_path / "half.h5")
    resumed.fit((X, Y), epochs=10, validation=(VX, VY), max_iterations=8)
    for k, p in whole.parameters.items():
        np.testing.assert_array_equal(resumed.parameters[k].data.get(), p.data.get(), err_msg=k)
    assert resumed.history == whole.history and resumed.iteration_history == whole.iteration_history
    on_cpu = small_trainer(seed=3)  # a GPU checkpoint restores on the CPU too
    checkpoint.restore(on_cpu, tmp_path / "half.h5")
    assert on_cpu.iteration == 4


def test_cuda_nan_guard_reports_instead_of_training_on():
    from engine.hooks import FunctionHook, TimeStep

    def poison_bias(t):
        t.parameters["fc2.bias"].data[0] = np.nan

    poison = FunctionHook(poison_bias, TimeStep(3, once=True))
    trainer = small_trainer(hooks=[poison], backend="cuda")
    with pytest.raises(FloatingPointError, match="non-finite"):
        trainer.fit((X, Y), epochs=30)
    assert trainer.operator.state == "error" and trainer.iteration <= 3 + 20
