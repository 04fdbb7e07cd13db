"""The graph canvas's scene: layer nodes and edges over the builder's nodes, edited through undoable
snapshots.

Every edit (add, connect, remove, rename, set a field, move, layout, paste) records the graph before and
after as one :class:`QUndoCommand`; undo and redo reconcile the items with the recorded graph by node
id, so items that did not change stay where they are. Graphs are small (tens of layers), so whole-graph
snapshots are cheaper to get right than one inverse per kind of edit.

The programmatic API (``add_node``, ``connect``, ``remove``, ``select``, ``spec``) is what the panel's
mouse handling calls too, so tests drive the same paths a user does.
"""

from __future__ import annotations

import copy

from PySide6.QtCore import Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import QGraphicsScene

from .catalog import default_props, known_type, layer_kinds, takes_many_inputs
from .clipboard import CLIPBOARD_MIME, layers_json, layers_text, pasted_layers, put_layers
from .interaction import SceneMouse
from .items import NODE_H, EdgeItem, NodeItem
from .layout import layered_positions
from .spec_io import _GENERATED, NodeData, nodes_from_spec, spec_from_nodes, unique_name

__all__ = ["GraphScene", "CLIPBOARD_MIME"]


class _Snapshot(QUndoCommand):
    def __init__(self, scene: GraphScene, before: dict, after: dict, text: str):
        super().__init__(text)
        self._scene, self._before, self._after = scene, before, after

    def redo(self):
        self._scene._apply_state(self._after)

    def undo(self):
        self._scene._apply_state(self._before)


class GraphScene(SceneMouse, QGraphicsScene):
    """The network as a graph of :class:`NodeItem` joined by :class:`EdgeItem`.

    Signals
    -------
    sigSpecChanged(dict)
        After every edit, undo or redo, with the new engine spec.
    sigNodeSelected(object)
        The first selected :class:`NodeItem`, or ``None``.
    sigMessage(str)
        An edit was refused (e.g. an edge into an input layer); the text says why.
    """

    sigSpecChanged = Signal(dict)
    sigNodeSelected = Signal(object)
    sigMessage = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self._items: dict[int, NodeItem] = {}
        self._edges: list[EdgeItem] = []
        self._next_id = 1
        self._extra: dict = {}
        self._drag = None
        self._press_positions: dict[int, tuple] | None = None
        self._clipboard_fallback = ""
        self.selectionChanged.connect(self._on_selection)

    # ---------------------------------------------------------------- read-outs
    def nodes(self) -> list[NodeItem]:
        """Node items in creation order."""
        return [self._items[i] for i in sorted(self._items)]

    def node(self, name: str) -> NodeItem:
        """The node called ``name`` (KeyError naming the known nodes otherwise)."""
        for item in self._items.values():
            if item.data.name == name:
                return item
        raise KeyError(f"no layer named {name!r}; layers are {[n.name for n in self.nodes()]}")

    def edges(self) -> list[EdgeItem]:
        return list(self._edges)

    def node_data(self) -> list[NodeData]:
        return [copy.deepcopy(n.data) for n in self.nodes()]

    def spec(self) -> dict:
        """The engine network spec of the graph as it is now."""
        return spec_from_nodes([n.data for n in self.nodes()], self._extra)

    def selected_nodes(self) -> list[NodeItem]:
        return [i for i in self.selectedItems() if isinstance(i, NodeItem)]

    # ---------------------------------------------------------------- edits
    def load_spec(self, spec: dict | None) -> None:
        """Replace the graph by a spec (laid out automatically); clears the undo history."""
        nodes = nodes_from_spec(spec or {})
        self._extra = {k: copy.deepcopy(v) for k, v in (spec or {}).items() if k not in _GENERATED}
        positions = layered_positions(nodes)
        state = {"nodes": {}, "pos": {}}
        for n in nodes:
            nid = self._new_id()
            state["nodes"][nid] = n
            state["pos"][nid] = positions[n.name]
        self._apply_state(state)
        self.undo_stack.clear()

    def add_node(self, type_: str, name: str | None = None, pos=None, **props) -> NodeItem:
        """Add a layer of ``type_`` with the catalog's defaults updated by ``props``.

        Returns
        -------
        NodeItem
        """
        if not known_type(type_):
            known = ", ".join(k.type for k in layer_kinds())
            raise ValueError(f"Unknown layer type {type_!r}. Expected one of: {known}")
        state = self._state()
        used = {n.name for n in state["nodes"].values()}
        if name is not None and name in used:
            raise ValueError(f"a layer named {name!r} already exists")
        fields = default_props(type_)
        fields.update(props)
        data = NodeData(type_, name or unique_name(type_, used), fields, [])
        nid = self._new_id()
        state["nodes"][nid] = data
        state["pos"][nid] = tuple(pos) if pos is not None else self._free_position(state)
        self._push(state, f"Add {data.name}")
        return self._items[nid]

    def connect(self, src, dst, port: int = 0) -> EdgeItem:
        """Feed ``src``'s output into input ``port`` of ``dst`` (a merge appends when ``port`` is past
        its last input; other layers have one input, which is replaced).

        Returns
        -------
        EdgeItem
        """
        src_name, dst_name = self._name(src), self._name(dst)
        state = self._state()
        target = self._find(state, dst_name)
        if src_name == dst_name:
            raise ValueError(f"cannot connect {src_name!r} to itself")
        if target.type == "input":
            raise ValueError(f"{dst_name!r} is an input layer: it takes no inputs")
        if takes_many_inputs(target.type):
            if port < len(target.inputs):
                target.inputs[port] = src_name
            else:
                target.inputs.append(src_name)
                port = len(target.inputs) - 1
        else:
            target.inputs = [src_name]
            port = 0
        self._find(state, src_name)  # raises if unknown
        self._push(state, f"Connect {src_name} -> {dst_name}")
        return next(
            e for e in self._edges if e.src.name == src_name and e.dst.name == dst_name and e.port == port
        )

    def disconnect_input(self, dst, port: int = 0) -> None:
        """Remove the edge into input ``port`` of ``dst``."""
        state = self._state()
        target = self._find(state, self._name(dst))
        if 0 <= port < len(target.inputs):
            del target.inputs[port]
            self._push(state, f"Disconnect {target.name}")

    def remove(self, items) -> None:
        """Remove nodes (by item or name) and edges, as one undoable step."""
        if not isinstance(items, (list, tuple, set)):
            items = [items]
        state = self._state()
        edges = [(e.dst.name, e.port) for e in items if isinstance(e, EdgeItem)]
        names = {self._name(i) for i in items if not isinstance(i, EdgeItem)}
        for dst, port in sorted(edges, key=lambda e: -e[1]):  # high ports first keeps indices valid
            target = self._find(state, dst)
            if port < len(target.inputs):
                del target.inputs[port]
        for nid, data in list(state["nodes"].items()):
            if data.name in names:
                del state["nodes"][nid]
                state["pos"].pop(nid, None)
        for data in state["nodes"].values():
            data.inputs = [s for s in data.inputs if s not in names]
        if names or edges:
            self._push(state, "Delete")

    def set_properties(self, node, **props) -> None:
        """Change fields of a layer (``name=`` renames it and its uses); ``None`` clears a field."""
        state = self._state()
        data = self._find(state, self._name(node))
        new_name = props.pop("name", None)
        if new_name is not None and new_name != data.name:
            new_name = str(new_name).strip()
            if not new_name or any(n.name == new_name for n in state["nodes"].values()):
                raise ValueError(f"cannot rename {data.name!r} to {new_name!r}: empty or already used")
            for other in state["nodes"].values():
                other.inputs = [new_name if s == data.name else s for s in other.inputs]
            data.name = new_name
        data.props.update(copy.deepcopy(props))
        self._push(state, f"Edit {data.name}")

    def set_chain(self, order: list[str]) -> None:
        """Rewire a linear network so the layers follow ``order`` (each feeds the next)."""
        state = self._state()
        for i, name in enumerate(order):
            self._find(state, name).inputs = [order[i - 1]] if i > 0 else []
        self._push(state, "Reorder")

    def select(self, items) -> None:
        """Select exactly these nodes or edges (items or names)."""
        if not isinstance(items, (list, tuple, set)):
            items = [items]
        self.clearSelection()
        for i in items:
            item = self.node(i) if isinstance(i, str) else i
            item.setSelected(True)

    def auto_layout(self) -> None:
        """Lay the graph out in layers from the inputs down (undoable)."""
        state = self._state()
        positions = layered_positions(list(state["nodes"].values()))
        for nid, data in state["nodes"].items():
            state["pos"][nid] = positions[data.name]
        self._push(state, "Layout")

    def delete_selection(self) -> None:
        selected = self.selectedItems()
        if selected:
            self.remove(selected)

    def copy_selection(self) -> str:
        """Put the selected layers (and the edges among them) on the clipboard; returns the JSON."""
        text = layers_json(self.selected_nodes())
        put_layers(text)
        self._clipboard_fallback = text
        return text

    def paste(self) -> list[NodeItem]:
        """Add copies of the clipboard's layers under new names, offset, and select them."""
        text = layers_text() or self._clipboard_fallback
        state = self._state()
        layers = pasted_layers(text, {n.name for n in state["nodes"].values()})
        if not layers:
            return []
        new_ids = []
        for data, pos in layers:
            nid = self._new_id()
            state["nodes"][nid] = data
            state["pos"][nid] = pos
            new_ids.append(nid)
        self._push(state, "Paste")
        pasted = [self._items[i] for i in new_ids]
        self.select(pasted)
        return pasted

    # ---------------------------------------------------------------- validation display
    def apply_validation(self, results: dict) -> None:
        """Show per-node results of ``validate_spec``: shape, parameters, errors (nodes and edges)."""
        for item in self._items.values():
            item.set_info(results.get(item.name, {}))
        self._mark_edges()

    def _mark_edges(self) -> None:
        """Edges into a failing node turn red; only the offending one when the error names its source."""
        for edge in self._edges:
            error = edge.dst.error
            into = [e for e in edge.dst.edges if e.dst is edge.dst]
            named = [e for e in into if error and f"from '{e.src.name}'" in error]
            edge.set_error(error if (not named or edge in named) else None)

    # ---------------------------------------------------------------- snapshots
    def _state(self) -> dict:
        return {
            "nodes": {nid: copy.deepcopy(item.data) for nid, item in self._items.items()},
            "pos": {nid: (item.pos().x(), item.pos().y()) for nid, item in self._items.items()},
        }

    def _push(self, after: dict, text: str) -> None:
        self.undo_stack.push(_Snapshot(self, self._state(), after, text))

    def _push_snapshot(self, before: dict, after: dict, text: str) -> None:
        self.undo_stack.push(_Snapshot(self, before, after, text))

    def _apply_state(self, state: dict) -> None:
        """Make the items show ``state``, touching only the nodes and edges that differ."""
        for nid in [i for i in self._items if i not in state["nodes"]]:
            item = self._items.pop(nid)
            self.removeItem(item)
        for nid in sorted(state["nodes"]):
            data = state["nodes"][nid]
            item = self._items.get(nid)
            if item is None:
                item = NodeItem(nid, copy.deepcopy(data))
                self._items[nid] = item
                self.addItem(item)
                item.sync_ports()
            elif item.data != data:
                item.data = copy.deepcopy(data)
                item.sync_ports()
                item.update()
            x, y = state["pos"].get(nid, (0.0, 0.0))
            if (item.pos().x(), item.pos().y()) != (x, y):
                item.setPos(x, y)
        by_name = {item.name: item for item in self._items.values()}
        wanted = {
            (id(by_name[src]), id(item), port)
            for item in self._items.values()
            for port, src in enumerate(item.data.inputs)
            if src in by_name
        }
        if wanted != {(id(e.src), id(e.dst), e.port) for e in self._edges}:
            self._rebuild_edges()
        else:  # same edges between the same items: only their paths may have moved
            for edge in self._edges:
                edge.update_path()
        self.sigSpecChanged.emit(self.spec())

    def _rebuild_edges(self) -> None:
        for edge in self._edges:
            if edge.scene() is self:
                self.removeItem(edge)
        self._edges = []
        by_name = {item.name: item for item in self._items.values()}
        for item in self._items.values():
            item.edges = []
        for item in self._items.values():
            for port, src in enumerate(item.data.inputs):
                if src in by_name:
                    edge = EdgeItem(by_name[src], item, port)
                    self.addItem(edge)
                    self._edges.append(edge)
                    by_name[src].edges.append(edge)
                    item.edges.append(edge)
        for item in self._items.values():
            item.set_info(item.info)
        self._mark_edges()

    def _new_id(self) -> int:
        nid = self._next_id
        self._next_id += 1
        return nid

    def _name(self, node) -> str:
        return node if isinstance(node, str) else node.name

    @staticmethod
    def _find(state: dict, name: str) -> NodeData:
        for data in state["nodes"].values():
            if data.name == name:
                return data
        raise KeyError(f"no layer named {name!r}")

    def _free_position(self, state: dict) -> tuple:
        """Below the selected node, else below the lowest node."""
        selected = self.selected_nodes()
        if selected:
            p = selected[0].pos()
            return (p.x(), p.y() + NODE_H + 52)
        if not state["pos"]:
            return (0.0, 0.0)
        lowest = max(state["pos"].values(), key=lambda p: p[1])
        return (lowest[0], lowest[1] + NODE_H + 52)

    def _on_selection(self) -> None:
        try:
            selected = self.selected_nodes()
        except RuntimeError:  # scene being destroyed
            return
        self.sigNodeSelected.emit(selected[0] if selected else None)
