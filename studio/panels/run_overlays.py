"""The monitor's Runs tab: the runs its charts hold (the current one and up to four earlier ones of the
same project, newest first), each ticked to overlay it on the charts or unticked to hide it."""

from __future__ import annotations

import collections

from PySide6 import QtCore, QtWidgets

__all__ = ["RunOverlays", "KEEP_RUNS"]

KEEP_RUNS = 5  # runs kept for comparison; older ones are forgotten


class RunOverlays(QtWidgets.QListWidget):
    """One checkable row per run the ``charts`` hold (``LiveChart`` objects); a run's row is
    ``"<label>: <project>"`` and holds its run id (``UserRole``)."""

    def __init__(self, charts: list, parent=None):
        super().__init__(parent)
        self.charts = charts
        self._run_order: collections.deque = collections.deque()
        self._run_projects: list[str] = []
        self.setToolTip("Tick runs to overlay them on the charts (dotted lines are earlier runs)")
        self.itemChanged.connect(self._run_toggled)

    def forget_other_project(self, project_name: str) -> None:
        """A run of ``project_name`` starts: curves of another project (other metrics, other scales)
        only confuse, so that project's runs leave the charts and the list."""
        if self._run_projects and self._run_projects[-1] != project_name:
            for run in self._run_order:
                for chart in self.charts:
                    chart.remove_run(run)
            self._run_order.clear()
            self._run_projects.clear()
            self.clear()

    def add(self, info) -> None:
        """List the run that started (a ``RunInfo``), ticked, and forget the oldest beyond KEEP_RUNS."""
        self._run_projects.append(info.project_name)
        self._run_order.append(info.run_id)
        while len(self._run_order) > KEEP_RUNS:
            old = self._run_order.popleft()
            for chart in self.charts:
                chart.remove_run(old)
            self.takeItem(self.count() - 1)
        item = QtWidgets.QListWidgetItem(f"{info.label}: {info.project_name}")
        item.setData(QtCore.Qt.ItemDataRole.UserRole, info.run_id)
        item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(QtCore.Qt.CheckState.Checked)
        self.insertItem(0, item)

    def untick_all(self) -> None:
        """Hide every run's curves (they stay listed, unticked, for comparison)."""
        for i in range(self.count()):
            self.item(i).setCheckState(QtCore.Qt.CheckState.Unchecked)

    def _run_toggled(self, item: QtWidgets.QListWidgetItem) -> None:
        run = item.data(QtCore.Qt.ItemDataRole.UserRole)
        visible = item.checkState() == QtCore.Qt.CheckState.Checked
        for chart in self.charts:
            chart.set_run_visible(run, visible)
