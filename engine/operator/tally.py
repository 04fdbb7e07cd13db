"""Running sums of the loss and metrics, kept on the device so a step needs no host sync.

Sums are cumulative over the whole training (float64) and weighted by samples; averages over a window
(an epoch, or the iterations since a reporter's last report) are differences of two snapshots. Only
reading an average converts to a Python float.
"""

from __future__ import annotations

__all__ = ["Tally"]


class Tally:
    """Cumulative per-sample sums of named values.

    Parameters
    ----------
    xp : module
        numpy or cupy (where the sums live).
    names : sequence of str
        Values tallied, e.g. ``("loss", "accuracy")``.
    """

    def __init__(self, xp, names):
        self.xp = xp
        self.names = tuple(names)
        self.sums = {n: xp.zeros((), dtype=xp.float64) for n in self.names}
        self._scratch = xp.zeros((), dtype=xp.float64)
        self.count = 0
        self.epoch_start = self.snapshot()

    def add_mean(self, name: str, mean, size: int) -> None:
        """Add a batch mean (0-d array) weighted by ``size`` samples."""
        xp = self.xp
        xp.multiply(mean, size, out=self._scratch)
        xp.add(self.sums[name], self._scratch, out=self.sums[name])

    def add_sum(self, name: str, total) -> None:
        """Add a batch sum (0-d array)."""
        self.xp.add(self.sums[name], total, out=self.sums[name])

    def add_samples(self, size: int) -> None:
        self.count += int(size)

    def snapshot(self) -> dict:
        """A copy of the sums and count (device copies: no host sync)."""
        return {"count": self.count, **{n: s.copy() for n, s in self.sums.items()}}

    def averages(self, since: dict) -> dict:
        """``{name: float}`` per-sample averages since the ``since`` snapshot (one host sync)."""
        n = self.count - since["count"]
        if n <= 0:
            return {}
        return {name: float(self.sums[name] - since[name]) / n for name in self.names}

    def mark_epoch(self) -> None:
        self.epoch_start = self.snapshot()

    def state_dict(self) -> dict:
        """Floats and ints only (float64 sums round-trip exactly through Python floats)."""
        return {
            "count": self.count,
            "sums": {n: float(s) for n, s in self.sums.items()},
            "epoch_start": {k: (int(v) if k == "count" else float(v)) for k, v in self.epoch_start.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        xp = self.xp
        self.count = int(state["count"])
        for n in self.names:
            self.sums[n] = xp.asarray(float(state["sums"].get(n, 0.0)), dtype=xp.float64)
        start = state["epoch_start"]
        self.epoch_start = {"count": int(start["count"])}
        for n in self.names:
            self.epoch_start[n] = xp.asarray(float(start.get(n, 0.0)), dtype=xp.float64)
