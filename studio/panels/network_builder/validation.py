"""Live shape inference for the builder: the engine's ``validate_spec`` and the totals shown under the
canvas (parameters, FLOPs, activation memory at a batch size)."""

from __future__ import annotations

import math

__all__ = ["validate", "totals", "format_bytes"]


def validate(spec: dict) -> tuple[bool, dict, str | None]:
    """Run the engine's shape inference on a spec.

    Returns
    -------
    ok : bool
    results : dict
        ``{node name: {"output_shape", "params", "flops", "error"}}`` as the engine gives it.
    problem : str or None
        Why no inference could be done (engine piece missing or failing), for the message area.
    """
    try:
        from engine.network import validate_spec
    except Exception as exc:  # engine.network not importable yet, or without validate_spec
        return False, {}, f"Shape inference is unavailable: engine.network.validate_spec ({exc})"
    try:
        ok, results = validate_spec(spec)
    except Exception as exc:  # the contract says it never raises; keep the builder alive if it does
        return False, {}, f"Shape inference failed: {type(exc).__name__}: {exc}"
    return bool(ok), dict(results or {}), None


def _size(shape) -> int:
    if shape is None:
        return 0
    if isinstance(shape, dict):
        return sum(_size(s) for s in shape.values())
    if shape and isinstance(shape[0], (list, tuple)):
        return sum(_size(s) for s in shape)
    return math.prod(int(d) for d in shape if d is not None)


def totals(results: dict, batch_size: int, loss_types=()) -> dict:
    """Sum the per-node results.

    Parameters
    ----------
    results : dict
        From :func:`validate`.
    batch_size : int
    loss_types : iterable of str
        Names of loss-head nodes, whose outputs (a scalar) are left out of activation memory.

    Returns
    -------
    dict
        ``params`` (int), ``flops`` (forward FLOPs per sample), ``activation_bytes`` (float32 outputs of
        every layer for one batch: what the forward pass keeps for backward), ``errors`` (count).
    """
    params = sum(int(r.get("params") or 0) for r in results.values())
    flops = sum(int(r.get("flops") or 0) for r in results.values())
    act = sum(_size(r.get("output_shape")) for n, r in results.items() if n not in set(loss_types))
    errors = sum(1 for r in results.values() if r.get("error"))
    return {"params": params, "flops": flops, "activation_bytes": act * int(batch_size) * 4, "errors": errors}


def format_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
