"""The bridge's live values: what the GUI may change in a running trainer (``editable_values``), setting
one (``set_value``: the trainer's registry, or a watched run's control file), and following the running
project's training settings so an edited optimiser hyperparameter reaches the run at its next iteration.
A mixin of :class:`studio.bridge.Bridge`, which owns the run, ``_busy``, ``watching`` and the settings
followed (``_live_settings``); route: docs/INTERFACES.md, "Live values".
"""

from __future__ import annotations

from engine.settings import TrainingSettings

__all__ = ["LiveValues"]


class LiveValues:
    """Live registry values of the bridge's run."""

    def set_value(self, identifier: str, value) -> bool:
        """Set a live registry value (``optimiser.learning_rate``); workers see it at the next iteration."""
        if self.watching is not None:
            self._watch_sent[identifier] = value
            return self._control("set", **{identifier: value})
        trainer = self.trainer
        if trainer is None or not self._busy:
            return False
        trainer.registry.set(identifier, value)
        return True

    def set_learning_rate(self, value: float) -> bool:
        return self.set_value("optimiser.learning_rate", float(value))

    def _observe_settings(self, settings) -> None:
        """Follow ``settings`` (the running project's) until the run ends; None stops following."""
        if self._live_settings is not None:
            self._live_settings.unsubscribe(self._setting_changed)
        self._live_settings = settings if isinstance(settings, TrainingSettings) else None
        if self._live_settings is not None:
            self._live_settings.subscribe(self._setting_changed)

    def _setting_changed(self, key: str, value) -> None:
        """The running project's optimiser settings changed: each hyperparameter the running optimiser
        has and that differs goes into the registry (applied at the next iteration)."""
        if key != "optimiser" or not isinstance(value, dict) or not self._busy:
            return
        live = self.editable_values()
        for name, new in value.items():
            identifier = f"optimiser.{name}"
            if identifier in live and isinstance(new, (int, float)) and live[identifier] != new:
                self.set_value(identifier, float(new))

    def editable_values(self) -> dict[str, object]:
        """Registry values the GUI may change during a run: the optimiser's hyperparameters (the operator
        applies them at the next iteration) and any value tagged ``editable``."""
        if self.watching is not None:
            return self._watched_values()
        trainer = self.trainer
        if trainer is None:
            return {}
        from engine.runs.control import editable  # the one rule, shared with `sigma set`

        registry = trainer.registry
        return {k: v for k, v in registry.items() if editable(registry, k, trainer.optimiser)}
