"""Checkpoints: crash safety, a writer killed (SIGKILL) at random moments of its saves."""

import os
import queue
import signal
import subprocess
import sys
import threading

import numpy as np

from engine import checkpoint
from tests.engine.training.nets import small_trainer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


KILL_ZYGOTE = """
import os
import sys

import numpy as np

from engine import checkpoint
from engine.layers import Dense, Input, SoftmaxCrossEntropy
from engine.network import Network
from engine.training import Trainer


def save_forever(path):
    net = Network(Input((64,)) + Dense(256, activation="relu") + Dense(4) + SoftmaxCrossEntropy(), seed=0)
    trainer = Trainer(net, optimiser="adam", batch_size=16, seed=0)
    x = np.random.default_rng(0).normal(size=(32, 64)).astype(np.float32)
    y = np.arange(32) % 4
    for k in range(1, 100_000):
        trainer.fit((x, y), epochs=k, max_iterations=k)
        checkpoint.save(trainer, path)
        say(k)


def say(*words):
    # One write() per line: a pipe write this small is atomic, so a writer killed mid-line cannot
    # leave half a line for the zygote's next one to join (print() makes two writes when
    # PYTHONUNBUFFERED is set: "6" then the newline, and "6reaped" would never read as "reaped").
    os.write(1, (" ".join(map(str, words)) + "\\n").encode())


# Imports are paid once here; each writer is a forked child that the test SIGKILLs.
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        try:
            save_forever(line.strip())
        finally:
            os._exit(0)
    say("pid", pid)
    os.waitpid(pid, 0)
    say("reaped")
"""


def test_sigkill_while_writing_never_leaves_a_broken_latest_checkpoint(tmp_path):
    """20 writer processes killed (SIGKILL) at random moments while saving: the file always opens intact."""
    rng = np.random.default_rng(0)
    path = tmp_path / "latest.h5"
    zygote = subprocess.Popen(
        [sys.executable, "-c", KILL_ZYGOTE],
        cwd=ROOT,
        # One BLAS thread: a child forked from a process whose BLAS threads are running can deadlock in
        # its first GEMM (the threads do not exist in the child).
        env={**os.environ, "PYTHONPATH": ROOT, "OPENBLAS_NUM_THREADS": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = queue.Queue()

    def read_all():
        for line in zygote.stdout:
            lines.put(line)
        lines.put("")  # end of file

    threading.Thread(target=read_all, daemon=True).start()

    def next_line() -> str:
        """The zygote's next line; a stuck or dead zygote fails the test instead of hanging it."""
        try:
            line = lines.get(timeout=60)
        except queue.Empty:
            raise AssertionError("the zygote or its writer said nothing for 60 s") from None
        assert line, "the zygote ended early"
        return line

    iterations, mid_write = [], 0
    try:
        for _ in range(20):
            zygote.stdin.write(f"{path}\n")
            zygote.stdin.flush()
            pid, saves, target = None, [], int(rng.integers(1, 4))
            while pid is None or len(saves) < target:  # the child's lines and the zygote's interleave
                words = next_line().split()
                if words[0] == "pid":
                    pid = int(words[1])
                else:
                    saves.append(int(words[0]))
            try:  # then kill it at a random moment of the saves that follow
                zygote.wait(timeout=float(rng.uniform(0.0, 0.02)))
            except subprocess.TimeoutExpired:
                pass
            os.kill(pid, signal.SIGKILL)
            while next_line().strip() != "reaped":
                pass
            mid_write += any(".tmp-" in f for f in os.listdir(tmp_path))
            content = checkpoint.load(path)  # opens, and the digest over every array matches
            assert content["meta"]["iteration"] >= saves[-1]
            iterations.append(content["meta"]["iteration"])
    finally:
        zygote.stdin.close()
        try:
            zygote.wait(timeout=60)
        finally:
            zygote.kill()  # a no-op once it has exited
    assert len(iterations) == 20
    assert mid_write >= 1, "no kill landed inside a save: the test did not exercise what it should"
    checkpoint.save(small_trainer(), path)  # a later save removes the temporaries of killed writers
    assert os.listdir(tmp_path) == ["latest.h5"]
    print(f"{mid_write} of 20 writers were killed with a temporary file half written")
