"""The backward walk: iterative, by generation, never recursive (a 10,000-op chain must work)."""

from __future__ import annotations

import heapq

from .errors import GraphError
from .mode import set_grad_enabled
from .tensor import Tensor, as_tensor

__all__ = ["backward", "gradients", "composite_gradients"]


def _walk(roots, root_grads, *, retain_graph: bool, create_graph: bool, targets=None):
    """Propagate gradients from ``roots`` towards the leaves.

    With ``targets`` (tensors) the gradients reaching them are returned and no ``.grad`` is touched;
    without, gradients are accumulated into ``.grad`` of leaves (and retained non-leaves).
    """
    grads: dict[int, Tensor] = {}
    keep: dict[int, Tensor] = {}  # id -> tensor, so ids stay valid while we hold gradients
    target_ids = {id(t) for t in targets} if targets is not None else None
    heap: list = []
    seen: set[int] = set()
    counter = 0

    # With targets, only functions on a path from the roots to a target are run: the walk must not
    # wander into the graph upstream of the targets (an outer graph, for nested grad or double backward).
    relevant = _functions_leading_to(roots, target_ids) if target_ids is not None else None

    def push(fn):
        nonlocal counter
        if fn is not None and id(fn) not in seen and (relevant is None or id(fn) in relevant):
            seen.add(id(fn))
            counter += 1
            heapq.heappush(heap, (-fn.generation, counter, fn))

    def accumulate(t: Tensor, g: Tensor):
        key = id(t)
        keep[key] = t
        old = grads.get(key)
        grads[key] = g if old is None else old + g

    with set_grad_enabled(create_graph):
        for r, g in zip(roots, root_grads):
            if r.creator is None and target_ids is None:
                r.grad = g if r.grad is None else r.grad + g
                continue
            accumulate(r, g)
            push(r.creator)
        while heap:
            _, _, fn = heapq.heappop(heap)
            if fn.inputs is None:
                raise GraphError(
                    f"backward through '{fn.name}' a second time: its graph was freed by the first "
                    "backward(); pass retain_graph=True to the first call"
                )
            outs = [ref() for ref in fn._outputs]
            gys = []
            for o in outs:
                if o is None:
                    gys.append(None)
                    continue
                key = id(o)
                g = grads.get(key)
                if target_ids is None or key not in target_ids:
                    grads.pop(key, None)
                    if o._retain and g is not None and target_ids is None:
                        o.grad = g if o.grad is None else o.grad + g
                gys.append(g)
            if all(g is None for g in gys):
                continue
            gxs = fn.backward(*gys)
            if not isinstance(gxs, tuple | list):
                gxs = (gxs,)
            if len(gxs) != len(fn.inputs):
                raise GraphError(
                    f"{fn.name}.backward returned {len(gxs)} gradients for {len(fn.inputs)} inputs"
                )
            for x, gx in zip(fn.inputs, gxs):
                if gx is None or not x.requires_grad:
                    continue
                if gx.shape != x.shape:
                    raise GraphError(
                        f"{fn.name}.backward produced a gradient of shape {gx.shape} "
                        f"for an input of shape {x.shape}"
                    )
                if x.creator is None or (target_ids is not None and id(x) in target_ids):
                    if target_ids is not None:
                        accumulate(x, gx)
                    else:
                        x.grad = gx if x.grad is None else x.grad + gx
                    if x.creator is not None:
                        push(x.creator)
                else:
                    accumulate(x, gx)
                    push(x.creator)
            if not retain_graph:
                fn.release()
    if targets is not None:
        return [grads.get(id(t)) for t in targets]
    return None


def _functions_leading_to(roots, target_ids) -> set[int]:
    """Ids of the functions that lie on some path from ``roots`` back to a tensor in ``target_ids``."""
    found = {}
    stack = [r.creator for r in roots if r.creator is not None]
    while stack:
        fn = stack.pop()
        if id(fn) in found:
            continue
        found[id(fn)] = fn
        stack.extend(
            x.creator for x in (fn.inputs or ()) if x.creator is not None and id(x.creator) not in found
        )
    relevant: set[int] = set()
    # Inputs always have a lower generation than the function that consumed them: visit upstream first.
    for fn in sorted(found.values(), key=lambda f: f.generation):
        for x in fn.inputs or ():
            if id(x) in target_ids or (x.creator is not None and id(x.creator) in relevant):
                relevant.add(id(fn))
                break
    return relevant


def backward(roots, root_grads, retain_graph: bool = False, create_graph: bool = False) -> None:
    """Accumulate gradients of ``roots`` (weighted by ``root_grads``) into the leaves' ``.grad``."""
    _walk(roots, root_grads, retain_graph=retain_graph, create_graph=create_graph)


def gradients(
    outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False
):
    """Gradients of ``outputs`` with respect to ``inputs``, returned rather than stored in ``.grad``.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensor
    inputs : sequence of Tensor
    grad_outputs : sequence, optional
        Weights for each output (default: ones; required for non-scalar outputs).
    create_graph : bool
        Record the computation so the result can be differentiated again.

    Returns
    -------
    list of Tensor: one per input; zeros where an input does not influence the outputs.
    """
    if isinstance(outputs, Tensor):
        outputs = [outputs]
    outputs = list(outputs)
    inputs = list(inputs)
    if grad_outputs is None:
        grad_outputs = []
        for o in outputs:
            if o.data.size != 1:
                raise GraphError(f"gradients(): output of shape {o.shape} is not a scalar; pass grad_outputs")
            grad_outputs.append(Tensor(o.xp.ones_like(o.data)))
    else:
        grad_outputs = [g if isinstance(g, Tensor) else Tensor(g) for g in grad_outputs]
    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if retain_graph is None:
        retain_graph = create_graph
    found = (
        _walk(
            [o for o, _ in live],
            [g for _, g in live],
            retain_graph=retain_graph,
            create_graph=create_graph,
            targets=inputs,
        )
        if live
        else [None] * len(inputs)
    )
    return [g if g is not None else Tensor(x.xp.zeros_like(x.data)) for g, x in zip(found, inputs)]


def composite_gradients(composite, inputs, grad_outputs):
    """Gradients of ``composite(*inputs)`` (engine ops) weighted by ``grad_outputs``, as a graph.

    Fused ops compute their first-order backward with raw arrays for speed. When a graph of the
    backward itself is wanted (``create_graph``: double backward), they call this with an engine-op
    version of their forward instead, so higher derivatives come out exact. Returns one Tensor or
    ``None`` per input (``None`` where the input does not require gradients).
    """
    outs = composite(*inputs)
    outs = list(outs) if isinstance(outs, tuple | list) else [outs]
    pairs = [(o, g) for o, g in zip(outs, grad_outputs) if g is not None and o.requires_grad]
    wanted = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not pairs or not wanted:
        return tuple(None for _ in inputs)
    found = iter(gradients([o for o, _ in pairs], wanted, [g for _, g in pairs], create_graph=True))
    return tuple(next(found) if isinstance(x, Tensor) and x.requires_grad else None for x in inputs)


# Tensor.backward is attached here, where the walk lives, so tensor.py never imports this module.
def _tensor_backward(self, grad=None, retain_graph: bool = False, create_graph: bool = False) -> None:
    """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires gradients.

    Parameters
    ----------
    grad : array-like or Tensor, optional
        The gradient flowing into this tensor; needed unless this tensor has one element.
    retain_graph : bool
        Keep the graph so ``backward`` can run through it again.
    create_graph : bool
        Record the backward computation itself, so gradients of gradients can be taken.
    """
    if not self.requires_grad:
        raise GraphError(
            f"backward() on a tensor of shape {self.shape} that does not require gradients "
            "(no input of its graph has requires_grad=True, or it was made under no_grad())"
        )
    if grad is None:
        if self.data.size != 1:
            raise GraphError(
                f"backward() on a non-scalar tensor of shape {self.shape} needs an explicit gradient "
                "of the same shape (or reduce it to a scalar first, e.g. with .sum())"
            )
        grad = Tensor(self.xp.ones_like(self.data))
    else:
        grad = as_tensor(grad, like=self)
        if grad.shape != self.shape:
            raise GraphError(
                f"backward(): gradient shape {grad.shape} does not match tensor shape {self.shape}"
            )
    backward([self], [grad], retain_graph=retain_graph or create_graph, create_graph=create_graph)


Tensor.backward = _tensor_backward
