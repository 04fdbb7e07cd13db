"""The network builder panel: palette, graph canvas and linear-stack view, properties, live shape
inference and totals, templates. It edits ``window.project.network``: one source of truth."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.settings import TRAINING_DEFAULTS
from studio.widgets.banner import Banner
from studio.widgets.cost_view import CostView

from .items import format_count
from .palette import LayerPalette
from .properties import PropertiesEditor
from .scene import GraphScene
from .stack_view import StackView
from .toolbar import TEMPLATES, make_toolbar
from .validation import format_bytes, totals, validate
from .view import GraphView

__all__ = ["NetworkBuilderPanel", "TEMPLATES"]


class NetworkBuilderPanel(QWidget):
    """Builds and edits a network spec visually.

    Parameters
    ----------
    window : MainWindow or None
        Supplies ``project`` (whose ``network`` this panel edits, and whose ``training.batch_size`` its
        batch box shows and edits) and ``sigProjectChanged(project)``.

    Attributes
    ----------
    scene : GraphScene
        The programmatic API: ``add_node``, ``connect``, ``remove``, ``select``, ``spec``.
    results : dict
        The last validation, by node name.
    totals : dict
        ``params``, ``flops``, ``activation_bytes``, ``errors``.

    Signals
    -------
    sigValidated(bool)
        After each shape inference (True when the network is valid).
    """

    sigValidated = Signal(bool)

    def __init__(self, window=None, parent=None):
        super().__init__(parent)
        self.setObjectName("networkBuilderPanel")
        self._window = window
        self.scene = GraphScene(self)
        self.view = GraphView(self.scene)
        self.palette = LayerPalette()
        self.properties = PropertiesEditor()
        self.stack = StackView()
        self.banner = Banner()
        self.totals_label = QLabel("")
        self.totals_label.setObjectName("builderTotals")
        self.totals_label.setWordWrap(True)  # never widen the dock column it may live in
        self.hint = QLabel(
            "Drag from a layer's bottom port to another's top port to connect · wheel: zoom · "
            "middle button: pan"
        )
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #616161")
        self.batch = QSpinBox()
        self.batch.setRange(1, 1_000_000)
        self.batch.setPrefix("batch ")
        self.batch.setToolTip(
            "Records per training step: the project's batch size (the training panel shows the same "
            "value), used here for the activation-memory estimate"
        )
        self.results: dict = {}
        self.totals: dict = {}
        self.valid = False
        self._loading = False
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(30)
        self._validate_timer.timeout.connect(self.validate_now)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self._refresh_properties)

        self.tabs = QTabWidget()
        graph_page = QWidget()
        graph_layout = QVBoxLayout(graph_page)
        graph_layout.setContentsMargins(0, 0, 0, 0)
        graph_layout.addWidget(self.view, 1)
        graph_layout.addWidget(self.hint)
        self.tabs.addTab(graph_page, "Graph")
        self.tabs.addTab(self.stack, "Stack")
        self.cost = CostView()  # memory and time of training this network (estimated when shown)
        self.tabs.addTab(self.cost, "Cost")
        self.tabs.currentChanged.connect(
            lambda _i: (
                self.stack.show_nodes(self.scene.nodes()) if self.tabs.currentWidget() is self.stack else None
            )
        )
        # [palette | [canvas | properties]]; the inner pair stacks vertically in a narrow dock column.
        self.centre = QSplitter(Qt.Orientation.Horizontal)
        self.centre.addWidget(self.tabs)
        self.centre.addWidget(self.properties)
        self.centre.setStretchFactor(0, 1)
        self.centre.setChildrenCollapsible(False)
        self.centre.setSizes([700, 260])
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.palette)
        splitter.addWidget(self.centre)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([170, 830])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(make_toolbar(self))
        layout.addWidget(self.banner)
        self._notices = QVBoxLayout()  # notices from outside the panel (network vs data)
        layout.addLayout(self._notices)
        layout.addWidget(splitter, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.totals_label, 1)
        bottom.addWidget(self.batch)
        layout.addLayout(bottom)

        self.scene.sigSpecChanged.connect(self._on_spec_changed)
        self.scene.sigNodeSelected.connect(self._on_node_selected)
        self.scene.sigMessage.connect(lambda text: self.banner.show_message(text, "error"))
        self.properties.sigEdited.connect(self._on_property_edited)
        self.properties.dataset_button.clicked.connect(self.use_dataset_shape)
        self.palette.sigActivated.connect(self.insert_layer)
        self.view.sigLayerDropped.connect(self._on_layer_dropped)
        self.stack.sigSelected.connect(lambda name: self.scene.select(name))
        self.stack.sigReorder.connect(self.scene.set_chain)
        self.batch.valueChanged.connect(self._batch_edited)

        self._settings = None  # the TrainingSettings the batch box observes and edits
        self.batch.setValue(TRAINING_DEFAULTS["batch_size"])
        if window is not None:
            window.sigProjectChanged.connect(self.load_project)
            if window.project is not None:
                self.load_project(window.project)

    def add_notice(self, widget: QWidget) -> None:
        """Show ``widget`` above the canvas (it decides its own visibility)."""
        self._notices.addWidget(widget)

    # ---------------------------------------------------------------- project and templates
    def load_project(self, project) -> None:
        """Show ``project.network`` (called when the main window opens or creates a project)."""
        self._loading = True
        try:
            self.scene.load_spec(getattr(project, "network", None) or {})
        except (ValueError, KeyError, TypeError) as exc:
            self.scene.load_spec({})
            self.banner.show_message(f"The project's network could not be shown: {exc}", "error")
        finally:
            self._loading = False
        if project is not None:
            self._observe(project.training)
        self.validate_now()
        self.view.fit()
        self.cost.set_project(project)

    def _observe(self, settings) -> None:
        """Show and edit ``settings.batch_size`` (the training panel shows the same setting)."""
        if self._settings is not None:
            self._settings.unsubscribe(self._setting_changed)
        self._settings = settings
        settings.subscribe(self._setting_changed)
        self._setting_changed("batch_size", settings.batch_size)

    def _setting_changed(self, key: str, value) -> None:
        if key == "batch_size" and self.batch.value() != int(value):
            self.batch.setValue(int(value))  # -> _batch_edited, which finds nothing to change

    def _batch_edited(self, value: int) -> None:
        if self._settings is not None and self._settings.batch_size != value:
            self._settings.batch_size = int(value)
        self._update_totals()

    def load_template(self, name: str) -> bool:
        """Replace the network by ``engine.templates.<name>()`` (undoable). Returns whether it worked."""
        try:
            import engine.templates as templates

            spec = getattr(templates, name)()
        except Exception as exc:
            self.banner.show_message(f"Template '{name}' is not available: {exc}", "error")
            return False
        if hasattr(spec, "to_spec"):
            spec = spec.to_spec()
        spec = self._fitted_to_data(spec)
        self.scene.undo_stack.beginMacro(f"Template {name}")
        try:
            self.scene.remove(self.scene.nodes())
            from .spec_io import nodes_from_spec

            ids = {}
            for data in nodes_from_spec(spec):
                ids[data.name] = self.scene.add_node(data.type, name=data.name, **data.props)
            for data in nodes_from_spec(spec):
                for port, src in enumerate(data.inputs):
                    self.scene.connect(src, data.name, port)
            self.scene.auto_layout()
        finally:
            self.scene.undo_stack.endMacro()
        self.validate_now()
        self.view.fit()
        return True

    def insert_layer(self, type_: str):
        """Add a layer after the selected one (taking over its consumers), or at the end. Returns the node."""
        selected = self.scene.selected_nodes()
        self.scene.undo_stack.beginMacro(f"Insert {type_}")
        try:
            node = self.scene.add_node(type_)
            if selected and len(selected) == 1 and node.type != "input":
                before = selected[0]
                consumers = [(e.dst.name, e.port) for e in self.scene.edges() if e.src is before]
                self.scene.connect(before.name, node.name)
                for dst, port in consumers:
                    self.scene.connect(node.name, dst, port)
        except (ValueError, KeyError) as exc:
            self.banner.show_message(str(exc), "error")
            node = None
        finally:
            self.scene.undo_stack.endMacro()
        if node is not None:
            self.scene.select(node)
        return node

    def _on_layer_dropped(self, type_: str, pos) -> None:
        node = self.scene.add_node(type_, pos=(pos.x(), pos.y()))
        self.scene.select(node)

    # ---------------------------------------------------------------- live validation
    def _on_spec_changed(self, spec: dict) -> None:
        project = getattr(self._window, "project", None)
        if project is not None and not self._loading:
            project.network = spec
            self.cost.refresh()
        self._validate_timer.start()
        self._refresh_timer.start()

    def validate_now(self) -> bool:
        """Run shape inference now and show it on nodes, edges, the stack view and the totals."""
        self._validate_timer.stop()
        ok, results, problem = validate(self.scene.spec())
        self.results = results
        self.valid = ok
        self.scene.apply_validation(results)
        names = {n.name for n in self.scene.nodes()}
        stray = [f"{k}: {v.get('error')}" for k, v in results.items() if k not in names and v.get("error")]
        if problem:
            self.banner.show_message(problem, "error")
        elif stray:
            self.banner.show_message("; ".join(stray), "error")
        elif self.banner.level == "error" and not self.banner.isHidden() and ok:
            self.banner.dismiss()
        if self.tabs.currentWidget() is self.stack:  # a table of every layer costs; fill it when shown
            self.stack.show_nodes(self.scene.nodes())
        self._update_totals()
        self.properties.refresh_info()
        self.sigValidated.emit(ok)
        return ok

    def _update_totals(self) -> None:
        losses = [n.name for n in self.scene.nodes() if "entropy" in n.type or n.type == "squared_error"]
        t = totals(self.results, self.batch.value(), losses)
        self.totals = t
        errors = ""
        if t["errors"]:
            errors = f" · <span style='color:#c62828'>{t['errors']} layer(s) with errors, not counted</span>"
        self.totals_label.setText(
            f"<b>{format_count(t['params'])}</b> parameters · {format_count(t['flops'])} FLOPs per sample · "
            f"activation memory {format_bytes(t['activation_bytes'])} at batch {self.batch.value()}{errors}"
        )

    def flush(self) -> None:
        """Run pending validation and refresh now (nothing stays scheduled)."""
        if self._validate_timer.isActive():
            self.validate_now()
        if self._refresh_timer.isActive():
            self._refresh_timer.stop()
            self._refresh_properties()

    def resizeEvent(self, event):
        wanted = Qt.Orientation.Horizontal if event.size().width() >= 820 else Qt.Orientation.Vertical
        if self.centre.orientation() != wanted:
            self.centre.setOrientation(wanted)
            whole = self.centre.height() if wanted == Qt.Orientation.Vertical else self.centre.width()
            self.centre.setSizes([int(whole * 0.7), int(whole * 0.3)])
        super().resizeEvent(event)

    def showEvent(self, event):
        super().showEvent(event)
        self.view.fit()  # shown again (a tab, a dock): the whole network in view, not where it was left

    def hideEvent(self, event):
        self.flush()
        super().hideEvent(event)

    # ---------------------------------------------------------------- selection and properties
    def _on_node_selected(self, node) -> None:
        self.properties.set_node(node)
        self.stack.select_name(node.name if node is not None else None)

    def _refresh_properties(self) -> None:
        # Deferred: the edit that triggered it may still be inside a field's signal.
        selected = self.scene.selected_nodes()
        self.properties.set_node(selected[0] if selected else None)

    def _fitted_to_data(self, spec: dict) -> dict:
        """A template adapted to the imported data (input shape, one output per class) when it can be."""
        from engine.network import NetworkError, fit_to_data

        dataset_panel = getattr(self._window, "dataset_panel", None)
        dataset = getattr(dataset_panel, "dataset", None)
        if dataset is None:
            return spec
        try:
            return fit_to_data(spec, dataset_panel.network_input_shape(), dataset.classes)
        except NetworkError:  # no automatic fit (the notice above the canvas says what differs)
            return spec

    def use_dataset_shape(self) -> bool:
        """Give the selected input layer the record shape the network will see from the dataset panel's
        dataset (channels first for images when the project's layout says so)."""
        node = self.properties.node
        dataset_panel = getattr(self._window, "dataset_panel", None)
        shape = dataset_panel.network_input_shape() if dataset_panel is not None else None
        if node is None or node.type != "input":
            return False
        if shape is None:
            self.banner.show_message(
                "Import a dataset first (Dataset panel): its record shape is used here.", "info"
            )
            return False
        self.scene.set_properties(node, shape=list(shape))
        return True

    def _on_property_edited(self, name: str, change: dict) -> None:
        try:
            self.scene.set_properties(name, **change)
        except (ValueError, KeyError) as exc:
            self.banner.show_message(str(exc), "error")
