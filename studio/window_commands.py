"""The main window's project commands: examples, close project, drops, import, theme, the start page
and the network-fits-the-data notices (a mixin of :class:`~studio.main_window.MainWindow`, which owns
the widgets; this module holds what the commands do with them)."""

from __future__ import annotations

from PySide6 import QtWidgets

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

        example = templates.example(key)
        actions = getattr(self, "project_actions", None)
        if actions is None:
            self.set_project(example.make())
        else:
            actions.replace_project(example.make)
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
        actions = getattr(self, "project_actions", None)
        if actions is None:
            self.set_project(None)
        else:
            actions.replace_project(lambda: None)

    def open_dropped(self, paths: list[str]) -> None:
        """Open what was dropped on the window: a project, a checkpoint, or data to import."""
        from studio.drop_anywhere import drop_action

        kind, text = drop_action(paths, probe=True)
        actions = getattr(self, "project_actions", None)
        if kind == "none":
            self.banner.show_message(text, "warning")
        elif kind == "project" and actions is not None:
            actions.open_project(paths[0])
        elif kind == "checkpoint" and actions is not None:
            actions.restore_checkpoint(paths[0])
        elif kind == "run":
            self.watch_actions.watch(paths[0])
        else:
            self.import_data(paths)

    def import_data(self, paths=None) -> None:
        """Show the dataset panel and import ``paths`` (the file dialog when None); with no project
        open, a new one is started for the data."""
        panel = getattr(self, "dataset_panel", None)
        if panel is None:
            self.banner.show_message("The dataset panel is not available in this installation.", "error")
            return
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
        if hasattr(self, "network_panel"):
            self.network_panel.add_notice(FitNotice(self.data_fit))
        self.data_fit.sigFixed.connect(lambda text: self.banner.show_message(text, "success"))

    # ------------------------------------------------------------------ start page
    def _connect_start_page(self) -> None:
        page = self.start_page
        page.sigOpenExample.connect(self.open_example)
        page.sigNewProject.connect(self._new_from_start_page)
        page.sigImportData.connect(self.import_data)
        actions = getattr(self, "project_actions", None)
        if actions is not None:
            page.sigOpenProject.connect(lambda: actions.open_project())
            page.sigOpenRecent.connect(actions.open_project)
        else:
            page.open_button.setEnabled(False)

    def _new_from_start_page(self) -> None:
        actions = getattr(self, "project_actions", None)
        if actions is not None:
            actions.new_project()
        else:
            from studio.project_actions.files import blank_project

            self.set_project(blank_project())

    def _show_start_page(self, show: bool) -> None:
        """The start page in place of the panels (their visibility is remembered and given back)."""
        if show == self.start_page.isVisibleTo(self):
            return
        if show:
            self._docks_before_start_page = [n for n, d in self._docks.items() if d.isVisibleTo(self)]
            for dock in self._docks.values():
                dock.hide()
            actions = getattr(self, "project_actions", None)
            self.start_page.set_recent(actions.recent_projects() if actions is not None else [])
            self.start_page.show()
        else:
            self.start_page.hide()
            for name in self._docks_before_start_page or ("training", "monitor"):
                self._docks[name].show()
            self._docks["training"].raise_()
            self._docks["monitor"].raise_()  # the live charts in front of the Runs table beside them
