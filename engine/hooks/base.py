"""The hook base class and the ordered list of hooks the operator fires.

A hook has a time step (when it is due), an optional criterion (whether it runs when due), a priority
(higher runs first among hooks due on the same event), a placement (``"global"``: on the operator with
the trainer's view; ``"local"``: on each worker after its gradients, with the worker's view) and the
names of the values it reads. Subclasses implement :meth:`Hook.run`.
"""

from __future__ import annotations

from .criteria import Criterion
from .timestep import TimeStep, floor_clock

__all__ = ["Hook", "HookList", "FunctionHook", "PacedHook"]


class Hook:
    """Base of all hooks.

    Parameters
    ----------
    timestep : TimeStep, optional
        When the hook is due; each class has a sensible default (``default_timestep``).
    criterion : Criterion, optional
        Gate checked when due; the hook runs only when it is true.
    priority : int, optional
        Higher runs first among hooks due on the same event.
    placement : str, optional
        ``"global"`` (default) or ``"local"``.
    name : str, optional
        Used in state (checkpoints) and messages; defaults to the class name.

    Attributes
    ----------
    runs : int
        Times the hook has run (``live_time`` counts these).
    reads : tuple of str
        Values (metric names, registry identifiers) the hook reads, besides its criterion's.
    also_hears : tuple of str or None
        Events besides its time step's on which :class:`HookList` calls :meth:`maybe_run` (a plain hook
        is due on no other); None: every event. A subclass that overrides :meth:`maybe_run` hears
        every event unless it sets this.

    A :class:`HookList` routes each event to the hooks that hear it from ``timestep``, ``placement``
    and ``also_hears``: assigning ``timestep`` reroutes every list; set ``placement`` and
    ``also_hears`` before the hook joins a list (or call :meth:`HookList.reroute`).
    """

    default_timestep = TimeStep(1, "iteration")
    priority = 0
    placement = "global"
    reads: tuple[str, ...] = ()
    also_hears: tuple[str, ...] | None = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "maybe_run" in cls.__dict__ and "also_hears" not in cls.__dict__:
            cls.also_hears = None  # its own maybe_run may act on any event (see LayerHealth)

    def __init__(
        self,
        timestep: TimeStep | None = None,
        criterion: Criterion | None = None,
        priority: int | None = None,
        placement: str | None = None,
        name: str | None = None,
    ):
        self.timestep = timestep if timestep is not None else self.default_timestep
        self.criterion = criterion
        if priority is not None:
            self.priority = int(priority)
        if placement is not None:
            if placement not in ("global", "local"):
                raise ValueError(
                    f"Invalid value for `placement`. Expected 'global' or 'local'. Received: {placement!r}"
                )
            self.placement = placement
        self.name = name or type(self).__name__
        self.runs = 0
        self._checked_reads = False

    # ------------------------------------------------------------------ firing
    #: Bumped whenever a hook's time step is replaced: hook lists route events anew (see HookList).
    _routing_version = 0

    @property
    def timestep(self) -> TimeStep:
        """When the hook is due (replacing it reroutes the hook lists it is in)."""
        return self._timestep

    @timestep.setter
    def timestep(self, value: TimeStep) -> None:
        if not isinstance(value, TimeStep):
            raise TypeError(f"Invalid value for `timestep`. Expected a TimeStep. Received: {value!r}")
        self._timestep = value
        Hook._routing_version += 1

    @property
    def retired(self) -> bool:
        """True once the hook has run ``live_time`` times."""
        live = self._timestep.live_time
        return live is not None and self.runs >= live

    def all_reads(self) -> tuple[str, ...]:
        """Every value name the hook and its criterion read."""
        extra = self.criterion.reads() if self.criterion is not None else ()
        return tuple(dict.fromkeys((*self.reads, *extra)))

    def maybe_run(self, event: str, trainer) -> bool:
        """Run if due on ``event``, not retired, and the criterion allows it. Returns whether it ran."""
        # TimeStep.due and `retired` written out: on every iteration, for every hook that hears it
        ts = self._timestep
        if event != ts.event:
            return False
        if ts.counted:
            count = trainer.iteration if event == "iteration" else trainer.epoch
            if (count != ts.interval) if ts.once else (count % ts.interval):
                return False
        if ts.live_time is not None and self.runs >= ts.live_time:
            return False
        if not self._checked_reads:
            self._checked_reads = True
            self._warn_missing_reads(trainer)
        if self.criterion is not None and not self.criterion(trainer):
            return False
        self.runs += 1
        self.run(trainer)
        return True

    def maybe_run_each(self, event: str, views) -> bool:
        """Run a local hook once per worker view (in worker order) if due; it counts as one run.

        ``views`` are the workers that computed the iteration; they share one iteration and epoch, so the
        hook is due on all of them or none. The criterion is asked per view. Returns whether it ran.
        """
        first = views[0]
        if self.retired or not self._timestep.due(event, first.iteration, first.epoch):
            return False
        if not self._checked_reads:
            self._checked_reads = True
            self._warn_missing_reads(first)
        chosen = [v for v in views if self.criterion is None or self.criterion(v)]
        if not chosen:
            return False
        self.runs += 1
        for view in chosen:
            self.run(view)
        return True

    def _warn_missing_reads(self, trainer) -> None:
        """Say once when a value the hook declares it reads is not available when it is first due."""
        missing = [name for name in self.all_reads() if trainer.value(name) is None]
        events = getattr(trainer, "events", None)
        if missing and events is not None:
            from ..events import LogMessage

            events.emit(
                LogMessage(
                    source=getattr(trainer, "name", ""),
                    level="warning",
                    message=(
                        f"hook {self.name!r} reads {', '.join(map(repr, missing))}, not available at "
                        f"iteration {trainer.iteration} (a criterion on it stays false until it is)"
                    ),
                )
            )

    def run(self, trainer) -> None:  # pragma: no cover - abstract
        """Do the hook's work. ``trainer`` is the trainer (global) or the worker (local)."""
        raise NotImplementedError(f"{type(self).__name__} must implement run(trainer)")

    def on_attach(self, trainer) -> None:
        """Called once when the hook joins a trainer (before any event)."""

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """Numbers, strings and arrays only; subclasses extend it."""
        state = {"runs": self.runs}
        if self.criterion is not None:
            state["criterion"] = self.criterion.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.runs = int(state.get("runs", 0))
        if self.criterion is not None:
            self.criterion.load_state_dict(state.get("criterion", {}))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.timestep!r}, priority={self.priority})"


class FunctionHook(Hook):
    """A hook that calls ``function(trainer)``: the quickest way to write one's own."""

    def __init__(self, function, timestep: TimeStep | None = None, **kwargs):
        kwargs.setdefault("name", getattr(function, "__name__", "function"))
        super().__init__(timestep, **kwargs)
        self.function = function

    def run(self, trainer):
        self.function(trainer)


class PacedHook(Hook):
    """A hook whose consumers show only its newest report (the monitor's histograms, the resource
    readout), run at most once per ``min_interval_s`` seconds of wall time.

    A due run less than ``min_interval_s`` after the last run is held back; the newest one held back
    is made when the run pauses or ends (the ``pause`` and ``stop`` events), so what is shown last is
    the run's latest state. With ``min_interval_s`` None (the default) every due run is made. Which
    runs are made then depends on timing: a paced hook must not feed what the run records or decides
    (metric history, checkpoints, early stopping), only what it shows.
    """

    #: Events on which a held-back run is made.
    flush_events = also_hears = ("pause", "stop")

    def __init__(self, timestep: TimeStep | None = None, min_interval_s: float | None = None, **kwargs):
        super().__init__(timestep, **kwargs)
        self.min_interval_s = interval_seconds(min_interval_s)
        self._last_run_at: float | None = None  # floor_clock() of the last run
        self._held = False  # a due run was held back since the last run

    def maybe_run(self, event: str, trainer) -> bool:
        if self._held and event in self.flush_events:
            self._held = False
            if self.criterion is not None and not self.criterion(trainer):
                return False
            self.runs += 1
            self._last_run_at = floor_clock()
            self.run(trainer)
            return True
        # Not due (most events: resource use is due on 1 iteration in 25) -> nothing, before any clock
        if not self._timestep.due(event, trainer.iteration, trainer.epoch) or self.retired:
            return False
        if (
            self.min_interval_s
            and self._last_run_at is not None
            and floor_clock() - self._last_run_at < self.min_interval_s
        ):
            self._held = True
            return False
        ran = super().maybe_run(event, trainer)
        if ran:
            self._last_run_at, self._held = floor_clock(), False
        return ran


def interval_seconds(value) -> float | None:
    """A ``min_interval_s`` argument checked: seconds >= 0, or None."""
    if value is not None and not float(value) >= 0:
        raise ValueError(
            f"Invalid value for `min_interval_s`. Expected seconds >= 0 or None. Received: {value!r}"
        )
    return None if value is None else float(value)


class HookList:
    """Hooks in firing order: by priority (higher first), then in the order they were added.

    Names are made unique (``EarlyStopping``, ``EarlyStopping_2``) so checkpoint state finds its hook.
    Each ``(event, placement)`` is routed to the tuple of hooks that hear it, made on first use and
    made again when a hook is added or removed or any hook's time step is replaced: an event no hook
    hears costs one dict lookup.
    """

    def __init__(self, hooks=()):
        self._hooks: list[Hook] = []
        self._routes: dict[tuple[str, str], tuple[Hook, ...]] = {}
        self._routed_at = Hook._routing_version
        for hook in hooks:
            self.add(hook)

    def add(self, hook: Hook) -> Hook:
        if not isinstance(hook, Hook):
            raise TypeError(f"Invalid hook {hook!r}: expected an engine.hooks.Hook")
        names = {h.name for h in self._hooks}
        base, n = hook.name, 1
        while hook.name in names:
            n += 1
            hook.name = f"{base}_{n}"
        # A new sorted list, not a sort in place: the training thread may be reading the old one.
        self._hooks = sorted([*self._hooks, hook], key=lambda h: -h.priority)  # stable: ties keep order
        self.reroute()
        return hook

    def remove(self, hook: Hook) -> None:
        hooks = list(self._hooks)
        hooks.remove(hook)
        self._hooks = hooks
        self.reroute()

    def reroute(self) -> None:
        """Forget the routes (made again on next use): after a hook's ``placement`` or ``also_hears``
        changed once it was in the list. Adding, removing and replacing a time step do it already."""
        self._routes = {}
        self._routed_at = Hook._routing_version

    def __iter__(self):
        return iter(list(self._hooks))

    def __len__(self) -> int:
        return len(self._hooks)

    def placed(self, placement: str) -> list[Hook]:
        return [h for h in self._hooks if h.placement == placement]

    def hearing(self, event: str, placement: str = "global") -> tuple[Hook, ...]:
        """The hooks of ``placement`` that hear ``event`` (its time step's event, or
        :attr:`Hook.also_hears`), in firing order."""
        if self._routed_at != Hook._routing_version:
            self.reroute()
        routes = self._routes
        hooks = routes.get((event, placement))
        if hooks is None:
            hooks = routes[(event, placement)] = tuple(
                h
                for h in self._hooks
                if h.placement == placement
                and (h.timestep.event == event or h.also_hears is None or event in h.also_hears)
            )
        return hooks

    def fire(self, event: str, trainer, placement: str = "global") -> None:
        """Run every hook of ``placement`` that is due on ``event``, in priority order.

        A hook that does not hear ``event`` is not called: most hooks are not due on most events. A hook
        added while the event is being fired hears the next one.
        """
        hooks = self._routes.get((event, placement)) if self._routed_at == Hook._routing_version else None
        for hook in hooks if hooks is not None else self.hearing(event, placement):
            hook.maybe_run(event, trainer)

    def fire_each(self, event: str, views) -> None:
        """Run every local hook due on ``event`` on each worker view (see :meth:`Hook.maybe_run_each`)."""
        for hook in self.hearing(event, "local"):
            hook.maybe_run_each(event, views)

    def state_dict(self) -> dict:
        return {h.name: h.state_dict() for h in self._hooks}

    def load_state_dict(self, state: dict) -> None:
        for h in self._hooks:
            if h.name in state:
                h.load_state_dict(state[h.name])
