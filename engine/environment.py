"""The environment: Sigma's container of trainers and monitors, with one event bus and global settings."""

from __future__ import annotations

import copy

from .events import EventBus

__all__ = ["Environment", "DEFAULT_SETTINGS"]

DEFAULT_SETTINGS = {"backend": "cpu", "seed": 0, "batch_size": 32, "workers": 1}


class Environment:
    """Holds trainers and monitors; every trainer made here emits on the environment's event bus.

    Parameters
    ----------
    name : str
    settings : dict, optional
        Defaults for trainers made with :meth:`create_trainer` (``backend``, ``seed``, ``batch_size``,
        ``workers``), plus any global values a monitor or the studio wants to keep.

    Examples
    --------
    >>> env = Environment(settings={"seed": 7})
    >>> env.add_monitor(ConsoleMonitor())                      # doctest: +SKIP
    >>> trainer = env.create_trainer(net, optimiser=Adam(1e-3))  # doctest: +SKIP
    >>> trainer.fit((x, y), epochs=3)                           # doctest: +SKIP
    """

    def __init__(self, name: str = "sigma", settings: dict | None = None):
        self.name = name
        self.events = EventBus()
        self.settings = {**copy.deepcopy(DEFAULT_SETTINGS), **(settings or {})}
        self.trainers: dict = {}
        self.monitors: list = []

    def create_trainer(self, network, name: str | None = None, **kwargs):
        """A :class:`~engine.training.Trainer` using the environment's settings as defaults and its bus."""
        from .training import Trainer

        name = self._unique(name or f"trainer{len(self.trainers) + 1}")
        for key in ("backend", "seed", "batch_size", "workers"):
            kwargs.setdefault(key, self.settings[key])
        trainer = Trainer(network, name=name, events=self.events, **kwargs)
        self.trainers[name] = trainer
        return trainer

    def add_trainer(self, trainer, name: str | None = None):
        """Adopt an existing trainer: it emits on this environment's bus from now on."""
        if trainer.operator.control.active:
            raise RuntimeError(f"cannot add trainer {trainer.name!r} while it is training")
        trainer.name = self._unique(name or trainer.name)
        trainer.events = self.events
        self.trainers[trainer.name] = trainer
        return trainer

    def add_monitor(self, monitor):
        """Attach a monitor (anything with ``attach(bus)``, or a plain ``listener(event)``)."""
        if hasattr(monitor, "attach"):
            monitor.attach(self.events)
        else:
            token = self.events.subscribe(monitor)
            monitor = _Subscription(self.events, token, monitor)
        self.monitors.append(monitor)
        return monitor

    def stop_all(self, reason: str = "environment stopping") -> None:
        """Ask every trainer to stop at its next iteration boundary."""
        for trainer in self.trainers.values():
            trainer.operator.stop(reason)

    def close(self) -> None:
        """Stop every trainer and detach every monitor."""
        self.stop_all("environment closed")
        for monitor in self.monitors:
            if hasattr(monitor, "detach"):
                monitor.detach()
        self.monitors.clear()

    def _unique(self, name: str) -> str:
        base, n = name, 1
        while name in self.trainers:
            n += 1
            name = f"{base}_{n}"
        return name

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"Environment({self.name!r}, trainers={list(self.trainers)}, monitors={len(self.monitors)})"


class _Subscription:
    """A plain listener attached to a bus, detachable like a monitor."""

    def __init__(self, bus, token, listener):
        self.bus, self.token, self.listener = bus, token, listener

    def detach(self):
        self.bus.unsubscribe(self.token)
