"""The main window's project commands: examples, close project, drops, import, theme, the start page
and the network-fits-the-data notices (a mixin of :class:`~studio.main_window.MainWindow`, which owns
the widgets; this module holds what the commands do with them)."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from studio import theme
from studio.data_fit import DataFit, FitNotice

__all__ = ["WindowCommands"]


class WindowCommands:
    """Commands of the main window that open, close or fill a project."""

    def open_example(self, key: str) -> bool:
        """Open a bundled example by key or title, after asking about unsaved changes (refused while a
        run is busy: stop it first). Returns False when refused at once."""
        if self.bridge.busy:
            watching = self.bridge.watching is not None
            what = "Stop watching (File > Stop watching)" if watching else "Stop the current run"
            self.banner.show_message(f"{what} before opening another project.", "info")
            return False
        from engine import templates

        self.project_actions.replace_project(templates.example(key).make)
        return True

    def set_theme(self, choice: str) -> None:
        """View > Theme: "system" (follow the OS's light or dark setting), "light" or "dark"; kept."""
        app = QtWidgets.QApplication.instance()
        theme.apply(app, choice)
        settings = self._settings()
        settings.setValue("view/theme", choice)
        settings.sync()
        self.theme_actions[choice].setChecked(True)

    def close_project(self) -> None:
        """File > Close project: back to the start page (after asking about unsaved changes)."""
        self.project_actions.replace_project(lambda: None)

    def open_dropped(self, paths: list[str]) -> None:
        """Open what was dropped on the window: a project, a checkpoint, or data to import."""
        from studio.drop_anywhere import drop_action

        kind, text = drop_action(paths, probe=True)
        if kind == "none":
            self.banner.show_message(text, "warning")
        elif kind == "project":
            self.project_actions.open_project(paths[0])
        elif kind == "checkpoint":
            self.project_actions.restore_checkpoint(paths[0])
        elif kind == "run":
            self.watch_actions.watch(paths[0])
        else:
            self.import_data(paths)

    def import_data(self, paths=None) -> None:
        """Show the dataset panel and import ``paths`` (the file dialog when None); with no project
        open, a new one is started for the data."""
        panel = self.dataset_panel
        if self.project is None:
            from studio.project_actions.files import blank_project

            self.set_project(blank_project())
        dock = self.panel("dataset")
        dock.show()
        dock.raise_()
        if paths is None:
            panel.open_import_dialog()
        else:
            panel.import_paths(paths)

    def _install_data_fit(self) -> None:
        """The network-fits-the-data check, shown in the builder and the training panel."""
        self.data_fit = DataFit(self)
        self.training.add_notice(FitNotice(self.data_fit))
        self.training.start_checks.append(self.data_fit.refusal)
        self.network_panel.add_notice(FitNotice(self.data_fit))
        self.data_fit.sigFixed.connect(lambda text: self.banner.show_message(text, "success"))

    # ------------------------------------------------------------------ start page
    def _connect_start_page(self) -> None:
        page = self.start_page
        page.sigOpenExample.connect(self.open_example)
        page.sigNewProject.connect(self._new_from_start_page)
        page.sigImportData.connect(self.import_data)
        actions = self.project_actions
        page.sigOpenProject.connect(lambda: actions.open_project())
        page.sigOpenRecent.connect(actions.open_project)

    def _new_from_start_page(self) -> None:
        self.project_actions.new_project()

    def _show_start_page(self, show: bool) -> None:
        """The start page in place of the panels (their visibility is remembered and given back)."""
        if show == self.start_page.isVisibleTo(self):
            return
        if show:
            self._docks_before_start_page = [n for n, d in self._docks.items() if d.isVisibleTo(self)]
            for dock in self._docks.values():
                dock.hide()
            self.start_page.set_recent(self.project_actions.recent_projects())
            self.start_page.show()
        else:
            self.start_page.hide()
            for name in self._docks_before_start_page or ("training", "monitor"):
                self._docks[name].show()
            self._docks["training"].raise_()
            self._docks["monitor"].raise_()  # the live charts in front of the Runs table beside them
            if self._sized and not self._docks_sized and not self._layout_restored:
                QtCore.QTimer.singleShot(0, self._size_docks)  # the first time the panels appear
