"""Fixtures shared by the whole suite."""

import pytest

from engine.backend import cuda_status, get_backend


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def backend(request):
    """Each backend the test should run on: the CPU always, CUDA (marked ``gpu``) when CuPy works."""
    if request.param == "cuda":
        ok, why = cuda_status()
        if not ok:
            pytest.skip(f"CUDA backend unavailable: {why}")
        return get_backend("cuda", dtype="float64")
    return get_backend("cpu", dtype="float64")
