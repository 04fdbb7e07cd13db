"""Every layer on CUDA gives what it gives on the CPU: same parameters (drawn on the host), outputs and
gradients within float32 tolerance. Skipped without a GPU."""

import numpy as np
import pytest
from test_layer_contract import CASES

from engine.autodiff import Tensor
from engine.backend import cuda_status, get_backend

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not cuda_status()[0], reason="needs a CUDA GPU (CuPy)")]


def _forward(layer, xs, training):
    layer.rng = np.random.default_rng(0)  # the same dropout mask on both devices (drawn on the host)
    return layer.forward(xs if layer.multi_input else xs[0], training)


@pytest.mark.parametrize("make,shapes,out,params,options", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_layer_on_cuda_matches_cpu(make, shapes, out, params, options):
    cuda = get_backend("cuda")
    cpu_layer, gpu_layer = make(), make()
    shape_arg = [tuple(s) for s in shapes] if cpu_layer.multi_input else tuple(shapes[0])
    cpu_layer.build(shape_arg, np.random.default_rng(0), np.float32)
    gpu_layer.build(shape_arg, np.random.default_rng(0), np.float32, cuda)
    for name, p in cpu_layer.parameters.items():
        np.testing.assert_array_equal(p.numpy(), gpu_layer.parameters[name].numpy())
    rng = np.random.default_rng(1)
    ints = options.get("int_inputs", 0)
    batch = options.get("batch", 3)
    hosts = [
        rng.integers(0, ints, (batch, *s)) if ints else rng.standard_normal((batch, *s)).astype(np.float32)
        for s in shapes
    ]
    cpu_x = [Tensor(h, requires_grad=not ints) for h in hosts]
    gpu_x = [Tensor(cuda.from_host(h), requires_grad=not ints) for h in hosts]
    training = options.get("training", False)
    y_cpu = _forward(cpu_layer, cpu_x, training)
    y_gpu = _forward(gpu_layer, gpu_x, training)
    assert type(y_gpu.data).__module__.startswith("cupy")
    np.testing.assert_allclose(y_gpu.numpy(), y_cpu.numpy(), rtol=1e-4, atol=1e-5)
    g = rng.standard_normal(y_cpu.shape).astype(np.float32)
    (y_cpu * Tensor(g)).sum().backward()
    (y_gpu * Tensor(cuda.from_host(g))).sum().backward()
    for name, p in cpu_layer.parameters.items():
        np.testing.assert_allclose(
            gpu_layer.parameters[name].grad.numpy(), p.grad.numpy(), rtol=1e-3, atol=1e-4
        )
    for a, b in zip(cpu_x, gpu_x):
        if a.requires_grad:
            np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-3, atol=1e-4)
    for name, buf in cpu_layer.buffers.items():
        np.testing.assert_allclose(cuda.to_host(gpu_layer.buffers[name]), buf, rtol=1e-4, atol=1e-6)
