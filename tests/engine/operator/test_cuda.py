"""The CUDA worker: same training as the CPU (dropout and batch norm included), a clear out-of-memory
error, the memory pool released after a run. Marked ``gpu``; skipped without CuPy and a device."""

import numpy as np
import pytest

from engine.backend import cuda_status, get_backend
from engine.operator.cuda import CUDAOperator, DeviceMemoryError, is_out_of_memory
from engine.training import Trainer
from tests.engine.operator.test_threaded import MOMENTUM, cnn, cnn_data, mlp, mlp_data


class OutOfMemoryError(Exception):  # named like CuPy's, as the check reads it
    pass


def test_out_of_memory_is_recognised_by_name_and_message():  # runs without a GPU
    assert is_out_of_memory(OutOfMemoryError("Out of memory allocating 1,024 bytes"))
    assert is_out_of_memory(RuntimeError("cudaErrorMemoryAllocation: out of memory"))
    assert not is_out_of_memory(ValueError("shapes do not match"))
    assert not is_out_of_memory(DeviceMemoryError("already explained"))


@pytest.fixture
def cuda():
    ok, why = cuda_status()
    if not ok:
        pytest.skip(f"CUDA unavailable: {why}")
    return get_backend("cuda")


def fitted(make, data, backend, batch_size, epochs=2):
    trainer = Trainer(
        make(), optimiser=MOMENTUM, batch_size=batch_size, seed=3, backend=backend, metrics=["accuracy"]
    )
    trainer.fit(data, epochs=epochs)
    return trainer


@pytest.mark.gpu
@pytest.mark.parametrize("make, data, batch", [(mlp, mlp_data, 16), (cnn, cnn_data, 12)], ids=["mlp", "cnn"])
def test_cuda_equals_cpu_with_dropout_and_batch_norm(cuda, make, data, batch):
    cpu, gpu = (fitted(make, data(), b, batch) for b in ("cpu", cuda))
    assert isinstance(gpu.operator, CUDAOperator)
    for key, p in cpu.network.parameters().items():
        np.testing.assert_allclose(
            cuda.to_host(gpu.network.parameters()[key].data), p.data, rtol=1e-4, atol=1e-5
        )
    for key, b in cpu.network.buffers().items():
        np.testing.assert_allclose(cuda.to_host(gpu.network.buffers()[key]), b, rtol=1e-4, atol=1e-5)
    for a, b in zip(cpu.history, gpu.history, strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4)
    assert gpu.network.rng.bit_generator.state == cpu.network.rng.bit_generator.state


@pytest.mark.gpu
def test_memory_pool_is_released_when_the_run_ends(cuda):
    from engine.hooks import FunctionHook, TimeStep

    pool = cuda.xp.get_default_memory_pool()
    held = []
    trainer = Trainer(cnn(), optimiser=MOMENTUM, batch_size=128, seed=3, backend=cuda)
    trainer.add_hook(FunctionHook(lambda t: held.append(pool.total_bytes()), TimeStep(1, "iteration")))
    trainer.fit(cnn_data(512), epochs=1)
    assert trainer.operator.state == "finished"
    assert max(held) > 0
    assert pool.free_bytes() < 0.25 * max(held)  # the cached free blocks went back to the driver


@pytest.mark.gpu
def test_out_of_memory_suggests_a_smaller_batch(cuda):
    pool = cuda.xp.get_default_memory_pool()
    trainer = Trainer(cnn(), optimiser=MOMENTUM, batch_size=128, seed=3, backend=cuda)
    pool.free_all_blocks()
    pool.set_limit(size=pool.used_bytes() + 64 * 1024)  # room for the parameters, not for a batch
    try:
        with pytest.raises(DeviceMemoryError, match=r"batch size 128: try a smaller batch size \(e.g. 64\)"):
            trainer.fit(cnn_data(256), epochs=1)
    finally:
        pool.set_limit(size=0)
    assert trainer.operator.state == "error"


@pytest.mark.gpu
def test_several_workers_on_one_device_are_refused(cuda):
    with pytest.raises(ValueError, match="one CUDA device runs one worker"):
        Trainer(mlp(), optimiser="sgd", backend=cuda, workers=2)
