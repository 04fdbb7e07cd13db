"""Running sums of the loss and metrics, kept on the device so a step needs no host sync.

Sums are cumulative over the whole training (float64) and weighted by samples; averages over a window
(an epoch, or the iterations since a reporter's last report) are differences of two snapshots. Only
reading an average converts to a Python float.

On the CPU (numpy) the sums are Python floats: the same float64 additions, in the same order, as
numpy's 0-d arrays (a batch mean times its size is still numpy's product, in the mean's dtype), at a
fraction of the calls (every iteration, and every report in the studio); on a GPU they are 0-d device
arrays, so a step makes no host sync.
"""

from __future__ import annotations

import numpy as np

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
        self._host = xp is np
        if self._host:
            self.sums = dict.fromkeys(self.names, 0.0)
        else:
            self.sums = {n: xp.zeros((), dtype=xp.float64) for n in self.names}
            self._scratch = xp.zeros((), dtype=xp.float64)
        self.count = 0
        self.epoch_start = self.snapshot()

    def add_step(self, loss, size: int, metrics: dict) -> None:
        """One iteration: its mean ``loss`` (0-d array) over ``size`` samples and its metric sums."""
        if self._host:
            sums = self.sums
            sums["loss"] += float(loss * size)  # the product in the loss's dtype, as np.multiply makes it
            for name, total in metrics.items():
                sums[name] += float(total)
            self.count += int(size)
            return
        self.add_mean("loss", loss, size)
        for name, total in metrics.items():
            self.add_sum(name, total)
        self.add_samples(size)

    def add_mean(self, name: str, mean, size: int) -> None:
        """Add a batch mean (0-d array) weighted by ``size`` samples."""
        if self._host:
            self.sums[name] += float(mean * size)
            return
        xp = self.xp
        xp.multiply(mean, size, out=self._scratch)
        xp.add(self.sums[name], self._scratch, out=self.sums[name])

    def add_sum(self, name: str, total) -> None:
        """Add a batch sum (0-d array)."""
        if self._host:
            self.sums[name] += float(total)
            return
        self.xp.add(self.sums[name], total, out=self.sums[name])

    def add_samples(self, size: int) -> None:
        self.count += int(size)

    def snapshot(self) -> dict:
        """A copy of the sums and count (device copies: no host sync)."""
        if self._host:
            return {"count": self.count, **self.sums}
        return {"count": self.count, **{n: s.copy() for n, s in self.sums.items()}}

    def averages(self, since: dict) -> dict:
        """``{name: float}`` per-sample averages since the ``since`` snapshot (one host sync)."""
        n = self.count - since["count"]
        if n <= 0:
            return {}
        if self._host:
            sums = self.sums
            return {name: (sums[name] - float(since[name])) / n for name in self.names}
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
        self.count = int(state["count"])
        start = state["epoch_start"]
        self.epoch_start = {"count": int(start["count"])}
        if self._host:
            for n in self.names:
                self.sums[n] = float(state["sums"].get(n, 0.0))
                self.epoch_start[n] = float(start.get(n, 0.0))
            return
        xp = self.xp
        for n in self.names:
            self.sums[n] = xp.asarray(float(state["sums"].get(n, 0.0)), dtype=xp.float64)
        for n in self.names:
            self.epoch_start[n] = xp.asarray(float(start.get(n, 0.0)), dtype=xp.float64)
