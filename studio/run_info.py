"""What the bridge says about a run when it starts and when its thread is done (shared by the bridge and
its watch mode)."""

from __future__ import annotations

import dataclasses

from engine import events as ev

__all__ = ["RunInfo", "RunFinished"]


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """What the GUI knows about a run when it starts."""

    run_id: int
    label: str
    project_name: str


@dataclasses.dataclass(frozen=True)
class RunFinished(ev.Event):
    """Posted by the bridge itself when ``fit`` has returned (or failed) and the thread is free."""

    run_id: int = 0
    state: str = "finished"
