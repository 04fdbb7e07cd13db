"""Screenshots of the dataset panel and the network builder for the README.

Run under Xvfb (what CI and the docs use)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python tools/screenshots_builder.py [--out docs/screenshots]

It imports a small real image folder (the bundled digits written out as PNG files, one folder per
class, plus one corrupt file so the skip report shows), builds a small CNN with a residual branch in
the builder through its scene API, and saves:

- ``dataset_preview.png``: the image grid with labels after the import, and the message about the
  corrupt file;
- ``dataset_statistics.png``: class balance and feature ranges;
- ``builder_graph.png``: the graph with shapes and parameter counts, a layer selected in the properties;
- ``builder_error.png``: the same graph with a wrong edge, highlighted with the engine's message;
- ``builder_stack.png``: the LeNet template in the linear-stack view.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _wait(app, condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("screenshot scene did not get ready in time")
        app.processEvents()
        time.sleep(0.01)
    for _ in range(5):
        app.processEvents()


def _digit_folder(root: Path) -> Path:
    import numpy as np
    from PIL import Image

    from engine.data import samples

    ds = samples.digits(flat=False) if "flat" in samples.digits.__code__.co_varnames else samples.digits()
    x = np.asarray(ds["inputs"][:200]).reshape(-1, 8, 8)
    y = np.asarray(ds["targets"][:200])
    for i, (img, label) in enumerate(zip(x, y)):
        folder = root / ds.classes[int(label)]
        folder.mkdir(parents=True, exist_ok=True)
        pixels = (255 * (img - img.min()) / max(float(np.ptp(img)), 1e-6)).astype(np.uint8)
        Image.fromarray(pixels).resize((32, 32), Image.NEAREST).save(folder / f"digit{i:03d}.png")
    (root / "3" / "scan_damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated by a bad copy")
    return root


def _host(app, widget, title: str, size=(1280, 760)):
    from PySide6.QtWidgets import QMainWindow

    window = QMainWindow()
    window.setWindowTitle(title)
    window.setCentralWidget(widget)
    window.resize(*size)
    window.show()
    app.processEvents()
    return window


def _holder():
    """The part of the main window's contract the panels use: ``project`` and ``sigProjectChanged``
    (as tests/studio/conftest.py's PanelHost); made after the re-exec under Xvfb, so Qt loads late."""
    from PySide6 import QtCore

    from engine.project import Project

    class Holder(QtCore.QObject):
        sigProjectChanged = QtCore.Signal(object)

        def __init__(self):
            super().__init__()
            self.project = Project(name="Digits")

    return Holder()


def dataset_shots(app, out: Path) -> None:
    from studio.panels.dataset import DatasetPanel

    holder = _holder()
    panel = DatasetPanel(holder)
    window = _host(app, panel, "Sigma Studio — Dataset")
    with tempfile.TemporaryDirectory() as tmp:
        folder = _digit_folder(Path(tmp) / "handwritten-digits")
        panel.image_size.setCurrentText("32 × 32")
        panel.import_paths([folder])
        _wait(app, lambda: panel.job is None)
    panel.test_split.setValue(10)
    panel.normalise.setCurrentIndex(1)
    panel.augment["noise"].setChecked(True)
    _wait(app, lambda: True)
    window.grab().save(str(out / "dataset_preview.png"))
    panel.tabs.setCurrentIndex(1)
    _wait(app, lambda: True)
    window.grab().save(str(out / "dataset_statistics.png"))
    panel.tabs.setCurrentIndex(2)
    _wait(app, lambda: True)
    window.grab().save(str(out / "dataset_report.png"))
    window.close()


def builder_shots(app, out: Path) -> None:
    from studio.panels.network_builder import NetworkBuilderPanel

    holder = _holder()
    holder.project.training["batch_size"] = 64
    panel = NetworkBuilderPanel(holder)
    window = _host(app, panel, "Sigma Studio — Network builder", (1400, 860))
    s = panel.scene
    x = s.add_node("input", name="image", shape=[1, 32, 32])
    c1 = s.add_node("conv2d", name="conv1", filters=8, kernel_size=3, padding="same", activation="relu")
    c2 = s.add_node("conv2d", name="conv2", filters=8, kernel_size=3, padding="same", activation="relu")
    add = s.add_node("add", name="residual")
    pool = s.add_node("max_pool2d", name="pool", pool_size=2)
    flat = s.add_node("flatten", name="flatten")
    fc = s.add_node("dense", name="fc", units=64, activation="relu")
    drop = s.add_node("dropout", name="dropout", rate=0.3)
    out_ = s.add_node("dense", name="logits", units=10, activation=None)
    loss = s.add_node("softmax_cross_entropy", name="loss")
    for a, b, port in [
        (x, c1, 0),
        (c1, c2, 0),
        (c1, add, 0),
        (c2, add, 1),
        (add, pool, 0),
        (pool, flat, 0),
        (flat, fc, 0),
        (fc, drop, 0),
        (drop, out_, 0),
        (out_, loss, 0),
    ]:
        s.connect(a, b, port)
    s.auto_layout()
    panel.validate_now()
    s.select(fc)
    panel.view.fit()
    _wait(app, lambda: panel.properties.node is fc)
    window.grab().save(str(out / "builder_graph.png"))
    s.connect(x, add, 2)  # a wrong edge: the 1-channel image into a sum of 8-channel maps
    panel.validate_now()
    s.select(add)
    _wait(app, lambda: panel.properties.node is add)
    window.grab().save(str(out / "builder_error.png"))
    panel.load_template("lenet")  # a linear network: the Stack view lists it layer by layer
    panel.tabs.setCurrentWidget(panel.stack)
    s.select("conv1") if any(n.name == "conv1" for n in s.nodes()) else s.select(s.nodes()[1])
    _wait(app, lambda: panel.properties.node is not None)
    window.grab().save(str(out / "builder_stack.png"))
    window.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")
    os.environ["SIGMA_STUDIO_HOME"] = tempfile.mkdtemp(prefix="sigma-shots-")
    from studio.app import create_application

    app = create_application([sys.argv[0]])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dataset_shots(app, out)
    builder_shots(app, out)
    print(f"screenshots written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
