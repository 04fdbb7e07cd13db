"""Screenshots of the studio's main window mid-training, for the README.

    python tools/screenshots.py [--out docs/screenshots]

Without a display it re-runs itself under Xvfb (``xvfb-run``), so the real X11 (xcb) platform draws
the window, fonts and styles as a user sees them. Debian packages it needs: ``xvfb xauth`` plus the
libraries Qt's xcb platform loads (see ``XCB_PACKAGES``).

Saved:

- ``start_page.png``: the first launch: the start page with the bundled examples, new / open / import
  and the recent projects;
- ``main_window_cat.png``: "Paint the cat" mid-training: loss falling, the network's painting beside
  the original, the painting error over time, progress and ETA;
- ``main_window_cat_sharp.png``: the same example once the painting passed 30 dB PSNR (Fourier features);
- ``main_window_text.png``: "Write like the poets": the text the GRU writes after each epoch, live;
- ``main_window_digits.png``: the digits classifier mid-training: classified samples (green right,
  red wrong) above the confusion matrix, loss and accuracy per epoch with validation;
- ``monitor_histograms.png``: the digits run's weight and gradient histograms tab;
- ``training_bad_input.png``: a negative learning rate refused at the field, with the reason;
- ``predict_files.png``: Training > Predict on files… after a short digits run: PNG digits and CSV
  rows classified, with thumbnails, a colour photo with the conversion it got, and a damaged PNG named
  and skipped.

- ``fit_mismatch.png``: three classes of RGB pictures imported into the digits project: the builder and
  the training panel say what does not fit, with the one-click fix;
- ``layout_<W>x<H>.png`` (and ``layout_1600x1000_scale1.5.png``): the digits run at each screen size
  the layout test checks, as a first launch lays the window out there.

``--only predict`` (or any of ``start cat cat_sharp text digits bad_input predict fit layouts``) takes
just those.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Debian packages for Qt's xcb platform under Xvfb (beyond libegl1 libgl1 libxkbcommon0 libfontconfig1
#: libdbus-1-3 libglib2.0-0, which Qt needs even offscreen).
XCB_PACKAGES = (
    "xvfb xauth libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 "
    "libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 "
    "libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0"
).split()
SIZE = (1920, 1200)  # the screen under Xvfb; the main window itself is 1440x900


def _reexec_under_xvfb() -> int:
    if shutil.which("xvfb-run") is None:
        print("No display and no xvfb-run: apt-get install -y " + " ".join(XCB_PACKAGES), file=sys.stderr)
        return 2
    cmd = ["xvfb-run", "-a", "-s", f"-screen 0 {SIZE[0] + 160}x{SIZE[1] + 100}x24", sys.executable, *sys.argv]
    env = dict(os.environ, SIGMA_SCREENSHOTS_UNDER_XVFB="1", QT_QPA_PLATFORM="xcb")
    return subprocess.call(cmd, env=env)


def _wait(app, condition, timeout: float, what: str) -> None:
    """Process events until ``condition()`` (a tool, not a test: polling is fine here)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        app.processEvents()
        time.sleep(0.02)
    for _ in range(10):
        app.processEvents()


def _shoot(app, widget, path: Path) -> None:
    widget.monitor.refresh()
    for _ in range(10):
        app.processEvents()
    if not widget.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def _start(app, window, out: Path) -> None:
    if window.project is None:
        _shoot(app, window, out / "start_page.png")


def _cat(app, window, out: Path) -> None:
    bridge, samples = window.bridge, window.monitor.samples
    window.training.start()
    _wait(app, lambda: samples.prediction.frames >= 15, 900, "fifteen paintings of the cat")
    _shoot(app, window, out / "main_window_cat.png")
    bridge.stop()
    _wait(app, lambda: not bridge.busy, 60, "the cat run to stop")


def _cat_sharp(app, window, out: Path) -> None:
    bridge, samples = window.bridge, window.monitor.samples
    window.open_example("Paint the cat")
    window.training.start()
    _wait(app, lambda: (samples.last_psnr or 0.0) >= 30.0, 1800, "the cat painted at 30 dB PSNR")
    _shoot(app, window, out / "main_window_cat_sharp.png")
    bridge.stop()
    _wait(app, lambda: not bridge.busy, 60, "the cat run to stop")


def _text(app, window, out: Path) -> None:
    bridge, text = window.bridge, window.monitor.samples.text
    window.open_example("Write like the poets (text)")
    window.training.start()
    _wait(app, lambda: len(text.samples) >= 3, 1800, "three texts written by the model")
    _shoot(app, window, out / "main_window_text.png")
    bridge.stop()
    _wait(app, lambda: not bridge.busy, 60, "the text run to stop")


def _digits(app, window, out: Path) -> None:
    bridge, monitor = window.bridge, window.monitor
    window.open_example("Digits classifier")
    window.training.start()
    _wait(
        app,
        lambda: monitor.epoch_chart.point_count("val_loss") >= 4 and monitor.confusion.matrix is not None,
        600,
        "four digits epochs",
    )
    _shoot(app, window, out / "main_window_digits.png")
    _wait(app, lambda: monitor.histograms.choice.count() > 0, 120, "weight histograms")
    monitor.tabs.setCurrentWidget(monitor.histograms)
    monitor.splitter.setSizes([420, 380])  # as a user would drag it, to give the histograms room
    _shoot(app, window, out / "monitor_histograms.png")
    monitor.tabs.setCurrentIndex(0)
    bridge.stop()
    _wait(app, lambda: not bridge.busy, 60, "the digits run to stop")


def _bad_input(app, window, out: Path) -> None:
    window.training.learning_rate.set_text("-0.1")
    window.training.batch_size.set_text("0")
    window.training.start()  # refused, with the message above the settings
    _shoot(app, window, out / "training_bad_input.png")
    window.training.set_project(window.project)  # put the good values back


def _predict(app, window, out: Path) -> None:
    import numpy as np
    from PIL import Image

    from engine.data import samples

    bridge, actions = window.bridge, window.project_actions
    window.open_example("Digits classifier")
    window.project.training["epochs"] = 6
    window.training.set_project(window.project)
    window.training.start()
    _wait(app, lambda: bridge.state == "running", 60, "the digits run to start")
    _wait(app, lambda: not bridge.busy, 600, "six digits epochs")
    folder = Path(tempfile.mkdtemp(prefix="sigma-predict-"))
    x = np.asarray(samples.digits()["inputs"])
    files = []
    for i in (0, 5, 42, 7, 13, 64):
        files.append(folder / f"digit{i}.png")
        Image.fromarray(np.round(x[i].reshape(8, 8) * 255).astype(np.uint8)).save(files[-1])
    np.savetxt(folder / "more_digits.csv", x[100:103], delimiter=",", fmt="%.4f")
    (folder / "scan_damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    # A colour photo unlike the 8x8 grey digits: the dialog says how it was converted.
    Image.fromarray(np.round(samples.cat() * 255).astype(np.uint8)).save(folder / "photo.jpg")
    files += [folder / "more_digits.csv", folder / "photo.jpg", folder / "scan_damaged.png"]
    results = []
    actions.sigPredicted.connect(results.append)
    actions.predict_on_files(files)
    _wait(app, lambda: bool(results), 60, "the predictions")
    dialog = actions.predict_dialog
    dialog.resize(760, 620)
    for _ in range(10):
        app.processEvents()
    if not dialog.grab().save(str(out / "predict_files.png")):
        raise OSError("could not write predict_files.png")
    print(f"saved {out / 'predict_files.png'}")
    dialog.close()
    shutil.rmtree(folder, ignore_errors=True)


def _fit(app, window, out: Path) -> None:
    import numpy as np
    from PIL import Image

    folder = Path(tempfile.mkdtemp(prefix="sigma-shapes-"))
    rng = np.random.default_rng(0)
    for c in ("circle", "square", "triangle"):
        (folder / c).mkdir()
        for i in range(8):
            Image.fromarray((rng.random((8, 8, 3)) * 255).astype(np.uint8)).save(folder / c / f"{c}{i}.png")
    window.project_actions.replace_project(lambda: __import__("engine.templates").templates.digits_project())
    panel = window.dataset_panel
    _wait(app, lambda: panel.job is None, 60, "the digits to load")
    panel.import_paths([str(folder)])
    _wait(app, lambda: panel.job is None and not window.data_fit.report.fits, 60, "the import")
    window.panel("network_builder").raise_()
    window.network_panel.view.fit()
    _shoot(app, window, out / "fit_mismatch.png")
    shutil.rmtree(folder, ignore_errors=True)


LAYOUT_SIZES = [(1024, 700), (1366, 768), (1600, 1000), (1920, 1200)]


def _layouts(app, window, out: Path) -> None:
    """The first-launch layout at each size, mid-run (a scaled screen: ``--scale 1.5`` in its own run)."""
    from studio.layout_check import measure, open_sized

    ratio = app.primaryScreen().devicePixelRatio()
    sizes = [(1600, 1000)] if ratio != 1.0 else LAYOUT_SIZES
    for width, height in sizes:
        w = open_sized(round(width / ratio), round(height / ratio))
        w.project.training["epochs"] = 50
        w.training.set_project(w.project)
        w.training.start()
        _wait(app, lambda w=w: w.monitor.epoch_chart.point_count("val_loss") >= 3, 600, "three epochs")
        suffix = "" if ratio == 1.0 else f"_scale{ratio:g}"
        _shoot(app, w, out / f"layout_{width}x{height}{suffix}.png")
        print(f"  {measure(w)}")
        w.bridge.stop()
        _wait(app, lambda w=w: not w.bridge.busy, 60, "the run to stop")
        w.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--only", nargs="+", choices=SHOTS, default=SHOTS, help="which screenshots to take")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        if os.environ.get("SIGMA_SCREENSHOTS_UNDER_XVFB"):
            print("xvfb-run gave no display", file=sys.stderr)
            return 2
        return _reexec_under_xvfb()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="sigma-screenshots-")
    os.environ["SIGMA_STUDIO_HOME"] = scratch  # autosaves of the demo runs go here, not to the user's
    from PySide6 import QtCore

    from studio.app import create_application
    from studio.main_window import MainWindow

    for fmt in (QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Format.NativeFormat):
        QtCore.QSettings.setPath(fmt, QtCore.QSettings.Scope.UserScope, str(out / ".settings-unused"))
    QtCore.QSettings.setDefaultFormat(QtCore.QSettings.Format.IniFormat)
    app = create_application()
    app.setQuitOnLastWindowClosed(False)
    window = MainWindow(restore_layout=False)  # the first launch: the start page
    window.resize(1440, 900)
    window.show()
    _wait(app, lambda: window.isVisible(), 10, "the window")
    try:
        for name in args.only:
            if name not in ("start", "layouts") and window.project is None:
                window.open_example("cat")  # the first-launch layout, with the cat project
            globals()[f"_{name}"](app, window, out)
    finally:
        window.close()
        shutil.rmtree(out / ".settings-unused", ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


SHOTS = ["start", "cat", "cat_sharp", "text", "digits", "bad_input", "predict", "fit", "layouts"]

if __name__ == "__main__":
    sys.exit(main())
