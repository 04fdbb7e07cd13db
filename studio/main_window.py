"""The studio's main window: dockable panels, menus, run toolbar, status bar, in-window messages.

Integration contract with the dataset panel, network builder and project actions (another engineer's
modules): ``window.bridge``, ``window.project``, ``sigProjectChanged(project)`` emitted by
:meth:`MainWindow.set_project`, :meth:`MainWindow.add_panel` (a QDockWidget whose objectName is the
panel's name, so ``QSettings`` can save and restore the layout) and :meth:`MainWindow.menu` for
"File", "Training", "View" and "Help". Those modules are installed when they can be imported.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from engine import templates
from engine.operator.state import BUSY, allowed_commands
from studio import theme
from studio.bridge import Bridge
from studio.builder_room import BuilderRoom
from studio.drop_anywhere import DropAnywhere
from studio.health_model import LayerHealthModel
from studio.panels.dataset import DatasetPanel
from studio.panels.monitor import MonitorPanel
from studio.panels.network_builder import NetworkBuilderPanel
from studio.panels.network_builder.health_overlay import HealthOverlay
from studio.panels.runs import RunsPanel
from studio.panels.training import TrainingPanel
from studio.project_actions import install as install_project_actions
from studio.status_line import StatusLine
from studio.watch_actions import WatchActions
from studio.widgets.banner import Banner
from studio.widgets.start_page import StartPage
from studio.window_commands import WindowCommands
from studio.window_layout import WindowLayout

__all__ = ["MainWindow", "default_project", "example_projects"]


def example_projects() -> dict:
    """The bundled examples by title (each a function returning a fresh Project), from
    :data:`engine.templates.EXAMPLES`."""
    return {e.title: e.make for e in templates.EXAMPLES}


def default_project():
    """The "Paint the cat" example: what ``sigma-studio --smoke`` trains."""
    return example_projects()["Paint the cat"]()


def _default_size() -> QtCore.QSize:
    """1440x900, or the screen's available area when that is smaller (a window is never larger)."""
    screen = QtGui.QGuiApplication.primaryScreen()
    wanted = QtCore.QSize(1440, 900)
    if screen is None:
        return wanted
    return wanted.boundedTo(screen.availableGeometry().size())


class MainWindow(WindowLayout, WindowCommands, QtWidgets.QMainWindow):
    """Sigma Studio's window.

    Parameters
    ----------
    project : engine.project.Project, optional
        Opened at once; None shows the start page (examples, new, open, import, recent projects).
    build_run : callable(project) -> run, optional
        Passed to the :class:`~studio.bridge.Bridge` (defaults to ``engine.run.build_run``).
    restore_layout : bool
        Restore the dock layout saved by the last session (QSettings).
    """

    sigProjectChanged = QtCore.Signal(object)
    #: Ask Save / Discard / Cancel before closing with unsaved changes. A close that is not asked (this
    #: False, for scripted use) keeps the autosave, which the next start offers back.
    confirm_close = True

    def __init__(
        self,
        project=None,
        build_run=None,
        restore_layout: bool = True,
        parent: QtWidgets.QWidget | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("Sigma Studio")
        self.setWindowIcon(theme.icon("sigma"))
        self.setDockNestingEnabled(True)
        self.project = None
        self.bridge = Bridge(self, build_run=build_run)
        self._menus: dict[str, QtWidgets.QMenu] = {}
        self._docks: dict[str, QtWidgets.QDockWidget] = {}
        for name in ("File", "Training", "View", "Help"):
            self.menu(name)

        # Messages float over the top of the window: showing or dismissing one never moves the panels.
        self.banner = Banner(self)
        self.banner.setObjectName("banner")
        self.banner.sigShown.connect(self._place_banner)
        self.banner.sigDetailsToggled.connect(self._place_banner)
        self.run_toolbar = self.addToolBar("Examples")
        self.run_toolbar.setObjectName("examples-toolbar")
        self.run_toolbar.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)

        self.monitor = MonitorPanel(self.bridge)
        self.training = TrainingPanel(self.bridge)
        self._install_other_panels()
        self.add_panel("training", "Training", self.training, "left")
        self.add_panel("monitor", "Live monitor", self.monitor, "right")
        self.runs = RunsPanel(self.bridge)
        self.add_panel("runs", "Runs", self.runs, "right")
        self.start_page = StartPage(templates.EXAMPLES)
        self.setCentralWidget(self.start_page)
        self.start_page.hide()  # a hidden central widget takes no room: the docks share the window
        self._docks_before_start_page: list[str] = []
        self.drop_anywhere = DropAnywhere(self, skip=(lambda: getattr(self, "dataset_panel", None),))
        self._default_state: QtCore.QByteArray | None = None  # made at the first show (View > Reset layout)
        self._sized = False
        self._docks_sized = False  # the first-launch sizes have been given to the shown panels
        self.status_line = StatusLine(self, self.bridge)
        # The status bar's labels, as tests and the layout check reach them.
        self.status_state, self.status_progress = self.status_line.state, self.status_line.progress
        self.status_speed, self.status_backend = self.status_line.speed, self.status_line.backend
        self._build_actions()
        self.watch_actions = WatchActions(self)  # File > Watch run folder…, drops and --watch end there

        self.bridge.sigError.connect(self._show_error)
        self.bridge.sigStateChanged.connect(self._state_changed)
        self.bridge.sigRunStarted.connect(
            lambda _: self.banner.dismiss() if self.banner.level == "error" else None
        )
        self.sigProjectChanged.connect(self.training.set_project)
        self.sigProjectChanged.connect(self.monitor.set_project)  # sample edits go into the open project
        self.monitor.sigContinuing.connect(self.runs.follow_continuation)  # parent and branch drawn together
        self.sigProjectChanged.connect(self.runs.set_project)
        self.runs.sigMessage.connect(self._info_message)
        self.sigProjectChanged.connect(self.monitor.show_project)
        app = QtWidgets.QApplication.instance()
        self._quit_hooked = app is not None
        if app is not None:  # the last line of defence: a quit by any route waits for the run to end
            app.aboutToQuit.connect(self._shutdown)
        self.resize(_default_size())
        self._layout_restored = False
        self.remember_layout = True
        if restore_layout:
            self._restore_layout()
        self._connect_start_page()
        self._install_data_fit()
        for view in self.findChildren(QtWidgets.QAbstractItemView):
            view.setTabKeyNavigation(False)  # Tab moves between controls; arrows move within a table
        self.set_project(project)

    # ------------------------------------------------------------------ the contract
    def menu(self, name: str) -> QtWidgets.QMenu:
        """The menu called ``name`` (created on first use, in the order asked)."""
        if name not in self._menus:
            self._menus[name] = self.menuBar().addMenu(f"&{name}")
        return self._menus[name]

    def set_project(self, project) -> None:
        """Open ``project`` (the current run, if any, keeps going on its own copy); None shows the start
        page. The title names the project and marks unsaved changes (``[*]``, see ``setWindowModified``)."""
        self.project = project
        self.update_title()
        self._show_start_page(project is None and self.bridge.watching is None)
        self.sigProjectChanged.emit(project)

    def update_title(self) -> None:
        """The project's name (``[*]`` marks unsaved changes) and, while watching, which run and how it is."""
        parts = [f"{self.project.name}[*]"] if self.project is not None else []
        watch = self.watch_actions.title_part() if hasattr(self, "watch_actions") else ""
        self.setWindowTitle(" — ".join([*parts, *([watch] if watch else []), "Sigma Studio"]))

    def show_sample_edits(self):
        """Training > Sample edits…: the project's relabel / exclude / check-later edits, undoable."""
        from studio.widgets.edits_dialog import EditsDialog

        dialog = EditsDialog(self.project, self)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    # ------------------------------------------------------------------ building
    def _install_other_panels(self) -> None:
        self.dataset_panel = DatasetPanel(self)
        self.add_panel("dataset", "Dataset", self.dataset_panel, "left")
        self.network_panel = NetworkBuilderPanel(self)
        self.add_panel("network_builder", "Network builder", self.network_panel, "left")
        self.health = LayerHealthModel(self.bridge, self)
        self.health_overlay = HealthOverlay(self.network_panel, self.health)
        self.builder_room = BuilderRoom(self)  # the builder's column widens while it is in front

    def _place_banner(self) -> None:
        """Over the top of the panels, centred, at most 760 px wide; above everything else."""
        banner = self.banner
        top = self.menuBar().height() + (self.run_toolbar.height() if self.run_toolbar.isVisible() else 0)
        width = min(760, max(200, self.width() - 40))
        banner.setFixedWidth(width)
        banner.adjustSize()
        banner.move((self.width() - width) // 2, top + 4)
        banner.raise_()

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.banner.shown:
            self._place_banner()

    def _build_actions(self) -> None:
        style = self.style()
        sp = QtWidgets.QStyle.StandardPixmap
        file_menu = self.menu("File")
        examples = file_menu.addMenu("Open e&xample")
        self.example_actions = {}
        for example in templates.EXAMPLES:
            action = examples.addAction(example.title)
            action.setToolTip(f"Open the example “{example.title}”: {example.description}")
            action.setStatusTip(example.description)
            action.triggered.connect(lambda _=False, key=example.key: self.open_example(key))
            self.example_actions[example.title] = action
        examples.setToolTipsVisible(True)
        install_project_actions(self)
        file_menu.addSeparator()
        self.close_project_action = file_menu.addAction("&Close project")
        self.close_project_action.setShortcut(QtGui.QKeySequence.StandardKey.Close)
        self.close_project_action.setToolTip(
            "Close the project (asks about unsaved changes) and show the start page."
        )
        self.close_project_action.triggered.connect(self.close_project)
        quit_action = file_menu.addAction("&Quit", QtGui.QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)

        training = self.menu("Training")
        self.run_actions = {}
        specs = [
            ("start", "&Start", sp.SP_MediaPlay, "F5", self.training.start),
            ("pause", "&Pause", sp.SP_MediaPause, "F6", self.bridge.pause),
            ("resume", "&Resume", sp.SP_MediaPlay, "F7", self.bridge.resume),
            ("step", "Step &once", sp.SP_MediaSkipForward, "F8", self.bridge.step),
            ("stop", "S&top", sp.SP_MediaStop, "Shift+F5", self.bridge.stop),
        ]
        for name, text, pixmap, key, slot in specs:
            action = QtGui.QAction(style.standardIcon(pixmap), text, self)
            action.setShortcut(QtGui.QKeySequence(key))
            action.triggered.connect(lambda _=False, s=slot: s())
            training.addAction(action)
            self.run_actions[name] = action
        training.addSeparator()
        training.addAction("Sample &edits…").triggered.connect(self.show_sample_edits)
        self.run_toolbar.addWidget(QtWidgets.QLabel(" Open an example: "))
        for action in self.example_actions.values():
            self.run_toolbar.addAction(action)
        self._state_changed(self.bridge.state)

        view = self.menu("View")
        view.addSeparator()
        view.addAction("Reset layout").triggered.connect(self.reset_layout)
        themes = view.addMenu("&Theme")
        self.theme_actions = {}
        group = QtGui.QActionGroup(self)
        current = str(self._settings().value("view/theme", "system"))
        for choice in theme.THEMES:
            action = themes.addAction(
                {"system": "Follow the system", "light": "Light", "dark": "Dark"}[choice]
            )
            action.setCheckable(True)
            action.setChecked(choice == current)
            action.setToolTip("Colours of the whole window and the charts.")
            action.triggered.connect(lambda _=False, c=choice: self.set_theme(c))
            group.addAction(action)
            self.theme_actions[choice] = action
        log_scale = view.addAction("Loss on a log scale")
        log_scale.setCheckable(True)
        log_scale.toggled.connect(self.monitor.loss_chart.set_log_y)
        self.monitor.loss_chart.sigLogScaleChanged.connect(log_scale.setChecked)
        from studio import help_menu

        self.help_actions = help_menu.install(self)
        self.menu("Help").addAction("&About Sigma Studio").triggered.connect(self._about)

    # ------------------------------------------------------------------ slots (commands: window_commands)
    def _backend_status(self, project) -> None:
        """The status bar's backend label from ``project``'s settings again (watch mode calls this when
        a watch ends; see studio.status_line)."""
        self.status_line.set_project(project)

    def _state_changed(self, state: str) -> None:
        active = state in BUSY
        enabled = allowed_commands(state)
        for name, action in getattr(self, "run_actions", {}).items():
            action.setEnabled(enabled[name])
        for action in getattr(self, "example_actions", {}).values():
            action.setEnabled(not active)

    def _info_message(self, text: str) -> None:
        self.banner.show_message(text, "info")

    def _show_error(self, event) -> None:
        if event.source == "studio.watch":  # the folder could not be watched: no run stopped
            self.banner.show_message(event.message[:1].upper() + event.message[1:], "error")
            return
        self.banner.show_message(
            f"Training stopped on an error: {event.message}\n"
            "Your project is unchanged; fix the setting and press Start again."
        )

    def _about(self) -> None:
        import engine

        QtWidgets.QMessageBox.about(
            self,
            "About Sigma Studio",
            f"Sigma Studio {engine.__version__}\nA desktop deep-learning training studio.",
        )

    # ------------------------------------------------------------------ layout and closing
    def _shutdown(self) -> None:
        self.runs.shutdown()
        self.bridge.shutdown()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        """Stop training (a checkpoint being written completes), remember the layout, then close."""
        if self.remember_layout:  # False for a window that is not the user's (sigma-studio --smoke)
            self.save_layout()
        self._shutdown()
        for dock in self._docks.values():  # floating panels are windows of their own: they go too
            if dock.isFloating():
                dock.hide()
        app = QtWidgets.QApplication.instance()
        if app is not None and self._quit_hooked:  # a second close must not disconnect again
            self._quit_hooked = False
            try:
                app.aboutToQuit.disconnect(self._shutdown)
            except (RuntimeError, TypeError):
                pass
        super().closeEvent(event)
