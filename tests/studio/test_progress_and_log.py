"""Issue 15, part 7: one truth for progress. The progress line, the status bar and the log show the same
throughput and time left; the log records the run's state changes, follows new lines unless scrolled
up, and can be saved; opening another project clears the monitor for its runs."""

from __future__ import annotations

import re

from PySide6 import QtCore

from engine.templates import digits_project
from studio.main_window import MainWindow

_LOG = re.compile(r"epoch \d+: .*\((\d+) samples/s\), about (\d+) s left")


def _seconds(text: str) -> float:
    """``about 3 min 05 s left`` / ``1 h 02 min left`` / ``42 s left`` -> seconds."""
    total = 0.0
    for value, unit in re.findall(r"(\d+) (h|min|s)\b", text):
        total += int(value) * {"h": 3600, "min": 60, "s": 1}[unit]
    return total


def _close(a: float, b: float, tolerance: float = 0.10) -> bool:
    # Times are shown in whole seconds, read at slightly different moments: allow one second too.
    return abs(a - b) <= max(tolerance * max(a, b), 1.0)


def test_eta_and_throughput_agree_the_log_records_the_run_and_a_new_project_clears_the_monitor(
    qtbot, build_run
):
    project = digits_project()
    project.training.update(epochs=4000, batch_size=32)  # long enough to compare; stopped below
    w = MainWindow(project=project, build_run=build_run, restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    log = w.monitor.log
    assert w.training.start()

    def epoch_lines():
        return [m for _level, text in log.lines if (m := _LOG.search(text))]

    qtbot.waitUntil(lambda: len(epoch_lines()) >= 3, timeout=120000)
    # Every figure is an average over the run so far: compare once start-up is a small part of it (on a
    # fast machine the first epochs take 40 ms each, and a view paced at 5 Hz shows an older average).
    qtbot.wait(2000)
    seen = len(epoch_lines())
    qtbot.waitUntil(lambda: len(epoch_lines()) > seen, timeout=120000)
    qtbot.wait(250)  # the paced views show the newest figures at least 4 times a second
    qtbot.waitUntil(lambda: "about" in w.training.eta.text(), timeout=10000)
    speed, eta = (float(v) for v in epoch_lines()[-1].groups())
    estimate = w.bridge.progress
    status = w.status_speed.text()
    status_speed = float(re.match(r"([\d,]+) samples/s", status).group(1).replace(",", ""))
    panel_eta = _seconds(w.training.eta.text().split("about")[1])
    assert _close(estimate.samples_per_second, speed), (estimate.samples_per_second, speed)
    assert _close(status_speed, speed), (status, speed)
    assert _close(_seconds(status.split(",")[-1]), eta), (status, eta)
    assert _close(panel_eta, eta), (w.training.eta.text(), eta)

    # The log records pause, step, resume and stop.
    with qtbot.waitSignal(w.bridge.sigStateChanged, check_params_cb=lambda s: s == "paused", timeout=20000):
        w.run_actions["pause"].trigger()
    w.run_actions["step"].trigger()
    qtbot.waitUntil(lambda: any("step: one iteration" in t for _l, t in log.lines), timeout=20000)
    with qtbot.waitSignal(w.bridge.sigStateChanged, check_params_cb=lambda s: s == "running", timeout=20000):
        w.run_actions["resume"].trigger()
    with qtbot.waitSignal(w.bridge.sigRunFinished, timeout=30000):
        w.run_actions["stop"].trigger()
    said = [t for _level, t in log.lines]
    for words in ("paused at iteration", "step: one iteration", "resumed", "stopped at iteration"):
        assert any(words in t for t in said), (words, said[-8:])

    # Another project: the old run leaves the charts (unticked in the Runs tab), samples and matrix clear.
    assert w.monitor.confusion.matrix is not None
    w.open_example("cat")
    assert w.project.name == "Paint the cat"
    monitor = w.monitor
    assert monitor.runs.count() == 1
    assert monitor.runs.item(0).checkState() == QtCore.Qt.CheckState.Unchecked
    assert monitor.samples.stack.currentWidget() is monitor.samples.placeholder
    assert monitor.confusion.matrix is None and not monitor.confusion.empty_label.isHidden()


def test_the_log_follows_new_lines_unless_scrolled_up_and_can_be_saved(qtbot, window, tmp_path):
    log = window.monitor.log
    window.monitor.tabs.setCurrentWidget(log)
    log.add_lines(("info", f"line {i}", None) for i in range(300))
    bar = log.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == bar.maximum()  # follows
    bar.setValue(10)  # the user scrolls up to read
    log.add_line("info", "one more")
    assert bar.value() == 10
    log.add_lines([("warning", "and another", None)])
    assert bar.value() == 10
    bar.setValue(bar.maximum())  # back at the bottom: follows again
    log.add_line("info", "the newest")
    assert bar.value() == bar.maximum()
    assert window.monitor.save_log_button.isVisible()
    window.monitor._save_log(str(tmp_path / "run.log"))
    text = (tmp_path / "run.log").read_text()
    assert "line 0" in text and "the newest" in text and "warning" in text
