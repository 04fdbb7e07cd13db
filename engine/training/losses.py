"""Resolving the ``loss=`` argument of a trainer into ``loss(outputs, targets) -> 0-d Tensor``."""

from __future__ import annotations

__all__ = ["resolve_loss", "LOSS_ALIASES"]

LOSS_ALIASES = {
    "cross_entropy": "softmax_cross_entropy",
    "categorical_cross_entropy": "softmax_cross_entropy",
    "mse": "mean_squared_error",
    "squared_error": "mean_squared_error",
    "binary_cross_entropy": "binary_cross_entropy_with_logits",
    "bce": "binary_cross_entropy_with_logits",
    "mae": "l1_loss",
    "l1": "l1_loss",
    "huber": "huber_loss",
}


def resolve_loss(loss, network=None):
    """A loss callable from a name in ``engine.ops.losses`` (or an alias), a callable, or ``None`` (the
    network's loss head, when its spec ends in one).

    Returns
    -------
    (callable, name)
    """
    if callable(loss):
        return loss, getattr(loss, "__name__", type(loss).__name__)
    if loss is None:
        head = getattr(network, "loss_head", None)
        if head is None:
            raise ValueError(
                "no loss: pass `loss=` (e.g. 'softmax_cross_entropy') or end the network in a loss layer"
            )
        function = getattr(head, "loss", None) or head
        if not callable(function):
            raise ValueError(
                f"the network's loss head {head!r} cannot compute a loss (no loss(outputs, targets))"
            )
        return function, getattr(head, "name", "loss_head")
    from ..ops import losses  # a late import: the losses module may be loaded after this one

    name = LOSS_ALIASES.get(str(loss).lower(), str(loss).lower())
    function = getattr(losses, name, None) if name in getattr(losses, "__all__", ()) else None
    if function is None:
        known = sorted(set(getattr(losses, "__all__", ())) | set(LOSS_ALIASES))
        raise ValueError(
            f"Invalid value for `loss`. Expected one of {known} or a callable. Received: {loss!r}"
        )
    return function, name
