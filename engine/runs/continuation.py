"""Continue a recorded run from a checkpoint: an exact resume, or a branch on changed data.

"Continue from here" (the studio's runs panel and Mistakes tab, ``sigma train --resume``) starts a new
run from a checkpoint of an earlier one. When the project's settings equal the parent run's, the new run
is a *resume* and continues exactly (same data, same order). When anything changed (sample edits
relabelling or excluding samples, another learning rate...) it is a *branch*: the weights, optimiser
state and counters carry on from the parent's iteration, but edited data has another fingerprint, so
the epoch starts over from its first batch on the new data. That is allowed, written into the new
run's ``run.json`` (``parent.exact``, ``parent.note``) and said in its log.
"""

from __future__ import annotations

import os
from pathlib import Path

from .folder import open_run
from .series import write_json_atomic

__all__ = ["latest_checkpoint", "restore_run", "continued_project"]


def latest_checkpoint(folder) -> Path | None:
    """The newest checkpoint (by modification time) in a run folder's ``checkpoints/``, or None."""
    found = [p for p in (Path(folder) / "checkpoints").glob("*.h5") if p.is_file()]
    return max(found, key=lambda p: (p.stat().st_mtime, p.name)) if found else None


def continued_project(project, folder):
    """``(project, epochs)`` to continue the run in ``folder``: ``project`` itself when it trains past
    the epoch the run reached, else a copy set to train its number of epochs again on top (``epochs``
    is then the new total, else None), so "Continue from here" always trains."""
    import copy

    reached = int(open_run(folder).status.get("epoch") or 0)
    planned = int((project.training or {}).get("epochs", 1) or 1)
    if planned > reached:
        return project, None
    more = copy.deepcopy(project)
    more.training["epochs"] = reached + planned
    return more, reached + planned


def _edits_sentence(project) -> str:
    edits = (getattr(project, "dataset", None) or {}).get("edits") or []
    counts = {
        a: sum(e.get("action") == a for e in edits if isinstance(e, dict)) for a in ("relabel", "exclude")
    }
    if not any(counts.values()):
        return ""
    return f"{counts['relabel']} sample(s) relabelled, {counts['exclude']} excluded"


def restore_run(run, checkpoint_path) -> str:
    """Restore ``run.trainer`` (a :class:`engine.run.Run`) from ``checkpoint_path`` before ``fit``.

    A resume (see :func:`engine.runs.parent_of`) is exact: the data must be the checkpoint's. A branch
    may train on other data (see :func:`engine.checkpoint.restore` with ``branch=True``). Raises
    :class:`engine.checkpoint.CheckpointError` for a checkpoint that does not fit.

    Returns
    -------
    str
        One sentence for the run's log ("branch of run-0001 from iteration 46: ..."), or ``""`` for an
        exact resume or a run that is not recorded. Also emitted as a ``LogMessage`` on the trainer's
        events and written into ``run.json`` (``parent``: ``iteration``, ``epoch``, ``exact``, ``note``).
    """
    from engine import checkpoint
    from engine.events import LogMessage
    from engine.training.data import fingerprint_of

    folder = getattr(run, "folder", None)
    record = open_run(folder) if folder is not None else None
    parent = record.parent if record is not None else None
    branch = parent is not None and parent.get("kind") == "branch"
    trainer = run.trainer
    meta = checkpoint.restore(trainer, os.fspath(checkpoint_path), data=run.train_data, branch=branch)
    if not branch:
        return ""
    same_data = fingerprint_of(run.train_data) == (meta.get("dataset_fingerprint") or "")
    where = f"branch of {parent.get('run')} from iteration {trainer.iteration} (epoch {trainer.epoch})"
    edits = _edits_sentence(run.project)
    before = ((record.meta.get("settings") or {}).get("dataset") or {}).get("edits") or []
    now = (getattr(run.project, "dataset", None) or {}).get("edits") or []
    if same_data and before != now:
        note = (
            f"{where}: the sample edits changed ({edits or 'none left'}); they touch only validation "
            "samples, so the training data and its order are the same"
        )
    elif same_data:
        note = f"{where}: the settings differ from the parent's; the data and its order are the same"
    else:
        why = f" ({edits})" if edits else ""
        note = (
            f"{where}: the training data differs from the parent's{why}, so this is a continuation, "
            "not an exact resume: the epoch starts from its first batch on the new data"
        )
    parent = {**parent, "iteration": int(trainer.iteration), "epoch": int(trainer.epoch)}
    parent.update(exact=False, data_changed=not same_data, note=note)
    # Written before training starts, by the process that will record the run (it owns run.json).
    write_json_atomic(Path(folder) / "run.json", {**record.meta, "parent": parent})
    trainer.events.emit(
        LogMessage(source=trainer.name, level="warning" if not same_data else "info", message=note)
    )
    return note
