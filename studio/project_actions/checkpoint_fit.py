"""What the Restore checkpoint question says of a checkpoint, from the summary read off the GUI thread:
the project it belongs to (``checkpoint_owner``), what it holds (``describe_checkpoint``) and how its
network differs from a project's (``network_difference``: a restore is refused when it does).
Re-exported by :mod:`studio.project_actions.checkpoints`.
"""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["checkpoint_owner", "describe_checkpoint", "network_difference"]


def checkpoint_owner(path) -> Path | None:
    """The project file a checkpoint belongs to: ``<folder>/digits.sigma`` for a checkpoint inside
    ``<folder>/digits.sigma.runs/run-NNNN/``; None when the file lies anywhere else (it says nothing of
    its project then, so it is taken for the open project's)."""
    from engine.runs import run_of_path

    found = run_of_path(path)
    if found is None:
        return None
    runs_folder, _name = found
    owner = runs_folder.with_name(runs_folder.name[: -len(".runs")])
    return owner if owner.is_file() else None


def describe_checkpoint(summary: dict) -> str:
    """What a checkpoint holds, in a few lines for the confirmation box."""
    created = summary.get("created")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(created)) if created else "unknown time"
    metrics = ", ".join(
        f"{k} {v:.4g}"
        for k, v in (summary.get("last_metrics") or {}).items()
        if isinstance(v, (int, float)) and k not in ("epoch", "iteration")
    )
    lines = [
        f"{Path(summary.get('path', '')).name}, saved {when}",
        f"epoch {summary.get('epoch')}, iteration {summary.get('iteration')}",
        f"{summary.get('layers')} layers, {summary.get('parameters', 0):,} parameters",
        f"optimiser {summary.get('optimiser')} (learning rate {summary.get('learning_rate')}), "
        f"loss: {summary.get('loss')}",
    ]
    if metrics:
        lines.append(f"last epoch: {metrics}")
    return "\n".join(lines)


def _normalised_nodes(spec: dict) -> dict | None:
    """``{name: (layer spec, inputs)}`` with every default filled in (no parameters allocated)."""
    from engine.network import analyse

    analysis = analyse(spec)
    if analysis.errors:
        return None
    return {n: (info.layer.spec(), list(info.inputs)) for n, info in analysis.nodes.items()}


def network_difference(stored: dict, current: dict) -> str:
    """Why a checkpoint's network differs from the project's (``""`` when they are the same network)."""
    a, b = _normalised_nodes(stored), _normalised_nodes(current or {})
    if b is None:
        return "the project's network is not valid (see the network builder)"
    if a is None:
        return "the checkpoint's network spec is not valid"
    parts = [f"layer '{n}' is only in the checkpoint" for n in sorted(a.keys() - b.keys())]
    parts += [f"layer '{n}' is only in the project" for n in sorted(b.keys() - a.keys())]
    for n in sorted(a.keys() & b.keys()):
        (sa, ia), (sb, ib) = a[n], b[n]
        if ia != ib:
            parts.append(f"layer '{n}' reads {ia} in the checkpoint but {ib} in the project")
        changed = sorted(k for k in sa.keys() | sb.keys() if sa.get(k) != sb.get(k))
        parts += [
            f"layer '{n}' {k}: {sa.get(k)!r} in the checkpoint, {sb.get(k)!r} in the project" for k in changed
        ]
    return "; ".join(parts)
