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
    # This runs once per training step over every node of the graph: the per-node work is written out
    # inline (no helper calls, no generators), which roughly halves the walk's own Python time.
    # Pending gradients are keyed by the tensor itself (tensors hash and compare by identity): the
    # dict keeps each tensor alive only until its gradient is handed on, so an intermediate result
    # (and its array) is freed as soon as its creator has run, not at the end of the walk.
    grads: dict[Tensor, Tensor] = {}
    targets_set = set(targets) if targets is not None else None
    heap: list = []
    seen: set = set()  # functions already pushed
    counter = 0
    push = heapq.heappush
    pop = heapq.heappop

    # With targets, only functions on a path from the roots to a target are run: the walk must not
    # wander into the graph upstream of the targets (an outer graph, for nested grad or double backward).
    relevant = _functions_leading_to(roots, targets_set) if targets_set is not None else None

    with set_grad_enabled(create_graph):
        for r, g in zip(roots, root_grads):
            fn = r.creator
            if fn is None and targets_set is None:
                r.grad = g if r.grad is None else r.grad + g
                continue
            old = grads.get(r)
            grads[r] = g if old is None else old + g
            if fn is not None and fn not in seen and (relevant is None or fn in relevant):
                seen.add(fn)
                counter += 1
                push(heap, (-fn.generation, counter, fn))
        while heap:
            fn = pop(heap)[2]
            inputs = fn.inputs
            if inputs is None:
                raise GraphError(
                    f"backward through '{fn.name}' a second time: its graph was freed by the first "
                    "backward(); pass retain_graph=True to the first call"
                )
            outputs = fn._outputs
            if len(outputs) == 1:  # one output (nearly every op): no list of gradients
                o = outputs[0]()
                if o is None:
                    continue
                if targets_set is None:
                    g = grads.pop(o, None)
                    if g is not None and o._retain:
                        o.grad = g if o.grad is None else o.grad + g
                elif o in targets_set:
                    g = grads.get(o)
                else:
                    g = grads.pop(o, None)
                if g is None:
                    continue
                gxs = fn.backward(g)
            else:
                gys = []
                any_grad = False
                for ref in outputs:
                    o = ref()
                    if o is None:
                        gys.append(None)
                        continue
                    if targets_set is None:
                        g = grads.pop(o, None)
                        if g is not None and o._retain:
                            o.grad = g if o.grad is None else o.grad + g
                    elif o in targets_set:
                        g = grads.get(o)
                    else:
                        g = grads.pop(o, None)
                    if g is not None:
                        any_grad = True
                    gys.append(g)
                if not any_grad:
                    continue
                gxs = fn.backward(*gys)
            if type(gxs) is not tuple and not isinstance(gxs, tuple | list):
                gxs = (gxs,)
            if len(gxs) != len(inputs):
                raise GraphError(f"{fn.name}.backward returned {len(gxs)} gradients for {len(inputs)} inputs")
            for x, gx in zip(inputs, gxs):
                if gx is None or not x.requires_grad:
                    continue
                if gx.data.shape != x.data.shape and gx.shape != x.shape:
                    raise GraphError(
                        f"{fn.name}.backward produced a gradient of shape {gx.shape} "
                        f"for an input of shape {x.shape}"
                    )
                creator = x.creator
                if creator is None and targets_set is None:  # a leaf: into its .grad
                    x.grad = gx if x.grad is None else x.grad + gx
                    continue
                old = grads.get(x)
                grads[x] = gx if old is None else old + gx
                if creator is not None and creator not in seen and (relevant is None or creator in relevant):
                    seen.add(creator)
                    counter += 1
                    push(heap, (-creator.generation, counter, creator))
            if not retain_graph:
                fn.release()
    if targets is not None:
        return [grads.get(t) for t in targets]
    return None


def _functions_leading_to(roots, targets) -> set:
    """The functions that lie on some path from ``roots`` back to a tensor in the set ``targets``."""
    found = set()
    stack = [r.creator for r in roots if r.creator is not None]
    while stack:
        fn = stack.pop()
        if fn in found:
            continue
        found.add(fn)
        stack.extend(x.creator for x in (fn.inputs or ()) if x.creator is not None and x.creator not in found)
    relevant: set = set()
    # Inputs always have a lower generation than the function that consumed them: visit upstream first.
    for fn in sorted(found, key=lambda f: f.generation):
        for x in fn.inputs or ():
            if x in targets or (x.creator is not None and x.creator in relevant):
                relevant.add(fn)
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
        grad = Tensor(self.xp.ones(self.data.shape, dtype=self.data.dtype))  # C-level, unlike ones_like
    else:
        grad = as_tensor(grad, like=self)
        if grad.shape != self.shape:
            raise GraphError(
                f"backward(): gradient shape {grad.shape} does not match tensor shape {self.shape}"
            )
    backward([self], [grad], retain_graph=retain_graph or create_graph, create_graph=create_graph)


Tensor.backward = _tensor_backward
