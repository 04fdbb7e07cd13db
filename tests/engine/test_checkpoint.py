"""Checkpoints: exact resume in a fresh process, and bad input (crash safety under SIGKILL:
test_checkpoint_crash.py)."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading

import h5py
import numpy as np
import pytest

from engine import checkpoint
from engine.checkpoint import CheckpointError
from engine.hooks import CheckpointSaver, EarlyStopping, LearningRateScheduler, MetricReporter, every
from engine.optim import SGD, Adam, CosineDecay
from tests.engine.training.nets import blobs, small_net, small_trainer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
X, Y = blobs(n=64)  # batch 24: batches of 24, 24, 16 -> 3 iterations per epoch
VX, VY = blobs(n=30, seed=4)

RESUME_SETUP = """
from engine.hooks import EarlyStopping, LearningRateScheduler, MetricReporter, every
from engine.optim import CosineDecay
from tests.engine.training.nets import blobs, small_trainer

X, Y = blobs(n=64)
VX, VY = blobs(n=30, seed=4)


def make():
    hooks = [MetricReporter(every(2)), LearningRateScheduler(CosineDecay(total_steps=12, warmup_steps=2)),
             EarlyStopping(monitor="val_loss", patience=100)]
    return small_trainer(hooks=hooks, batch_size=24, dropout=0.3)
"""


def run_python(code, timeout=120):
    env = {**os.environ, "PYTHONPATH": ROOT}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def make_resumable():
    namespace = {}
    exec(compile(RESUME_SETUP, "resume_setup", "exec"), namespace)  # the very code the child runs
    return namespace["make"]()


def state_of(trainer):
    """Everything that must survive save + restore, as comparable plain values."""
    return {
        "params": {k: p.data.copy() for k, p in trainer.parameters.items()},
        "optimiser": trainer.optimiser.state_dict(),
        "history": json.dumps(trainer.history),
        "iteration_history": json.dumps(getattr(trainer, "iteration_history", [])),
        "counters": (trainer.iteration, trainer.epoch),
        "rng": (
            json.dumps(trainer.rng.bit_generator.state),
            json.dumps(trainer.network.rng.bit_generator.state),
        ),
        "hooks": json.dumps(
            {
                k: {kk: vv for kk, vv in v.items() if "best_" not in kk}
                for k, v in trainer.hooks.state_dict().items()
            }
        ),
    }


def assert_same_params(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.mark.parametrize("n", [4, 3])  # 4 stops mid-epoch (epoch 2, batch 1); 3 at an epoch's last batch
def test_exact_resume_in_a_fresh_process(tmp_path, n):
    whole = make_resumable()
    whole.fit((X, Y), epochs=100, validation=(VX, VY), max_iterations=2 * n)

    first = make_resumable()
    first.fit((X, Y), epochs=100, validation=(VX, VY), max_iterations=n)
    checkpoint.save(first, tmp_path / "half.h5")
    run_python(
        RESUME_SETUP
        + textwrap.dedent(f"""
        from engine import checkpoint
        trainer = make()
        checkpoint.restore(trainer, {str(tmp_path / "half.h5")!r})
        trainer.fit((X, Y), epochs=100, validation=(VX, VY), max_iterations={2 * n})
        checkpoint.save(trainer, {str(tmp_path / "end.h5")!r})
    """)
    )
    resumed = make_resumable()
    checkpoint.restore(resumed, tmp_path / "end.h5")
    a, b = state_of(whole), state_of(resumed)
    assert_same_params(a.pop("params"), b.pop("params"))
    opt_a, opt_b = a.pop("optimiser"), b.pop("optimiser")
    assert (
        opt_a["learning_rate"] == opt_b["learning_rate"]
        and opt_a["iterations"] == opt_b["iterations"] == 2 * n
    )
    for k in opt_a["state"]:
        assert_same_params(opt_a["state"][k], opt_b["state"][k])
    assert a == b  # history (with validation), iteration reports, counters, random states, hook state
    assert len(whole.history) == (2 * n) // 3 and len(whole.iteration_history) == n
    np.testing.assert_array_equal(whole.predict(VX), resumed.predict(VX))


# ---------------------------------------------------------------------------------------------- bad input
@pytest.fixture()
def saved(tmp_path):
    trainer = small_trainer(hooks=[MetricReporter(every(2)), CheckpointSaver(tmp_path / "periodic")])
    trainer.fit((X, Y), epochs=2, validation=(VX, VY))
    path = checkpoint.save(trainer, tmp_path / "good.h5")
    return path


def trained_trainer(**kwargs):
    trainer = small_trainer(**kwargs)
    trainer.fit(blobs(n=40, seed=8), epochs=1)
    return trainer


def full_state(trainer):
    s = state_of(trainer)
    s["params"] = {k: v.tobytes() for k, v in s["params"].items()}
    s["optimiser"] = json.dumps(
        {
            k: {kk: {n: a.tobytes().hex() for n, a in vv.items()} for kk, vv in v.items()}
            if k == "state"
            else v
            for k, v in s["optimiser"].items()
        }
    )
    s["pending"] = json.dumps(trainer._pending_iterator_state)
    return s


def expect_rejected(trainer, path, match, **kwargs):
    before = full_state(trainer)
    with pytest.raises(CheckpointError, match=match) as caught:
        checkpoint.restore(trainer, path, **kwargs)
    assert full_state(trainer) == before
    return caught.value


def test_incompatible_checkpoints_say_what_differs(saved):
    wider = trained_trainer()
    wider.network = small_net()  # same spec: accepted later; now an incompatible architecture:
    from engine.layers import Dense, Input, SoftmaxCrossEntropy
    from engine.network import Network
    from engine.training import Trainer

    other = Trainer(
        Network(
            Input((6,), name="x")
            + Dense(17, activation="relu", name="fc1")
            + Dense(3, name="fc2")
            + SoftmaxCrossEntropy(name="loss"),
            seed=1,
        ),
        optimiser=Adam(0.01),
    )
    err = expect_rejected(other, saved, "architecture differs")
    assert "fc1.weights: file (6, 16), network (6, 17)" in str(
        err
    ) and "layer 'drop' only in the file" in str(err)
    expect_rejected(trained_trainer(optimiser=SGD(0.1)), saved, "optimiser: file Adam, trainer SGD")
    expect_rejected(trained_trainer(), saved, "dataset differs", data=blobs(n=64, seed=99))


def test_resuming_on_other_data_is_refused_at_fit(saved):
    trainer = small_trainer()
    checkpoint.restore(trainer, saved)
    with pytest.raises(ValueError, match="training data differs"):
        trainer.fit(blobs(n=64, seed=99), epochs=5)
    assert trainer.iteration == 4 and trainer.operator.state == "idle"
    trainer.fit((X, Y), epochs=3)
    assert trainer.epoch == 3


def test_truncated_non_hdf5_and_missing_files(saved, tmp_path):
    data = open(saved, "rb").read()
    for cut in (len(data) // 2, len(data) - 100, 600):
        truncated = tmp_path / f"cut{cut}.h5"
        truncated.write_bytes(data[:cut])
        expect_rejected(trained_trainer(), truncated, "truncated|damaged|not an HDF5")
    text = tmp_path / "notes.h5"
    text.write_text("this is not a checkpoint")
    expect_rejected(trained_trainer(), text, "not an HDF5 file")
    expect_rejected(trained_trainer(), tmp_path / "absent.h5", "no such file")


CANARY_CODE = "__import__('pathlib').Path({canary!r}).write_text('executed')"


def set_text(f, name, text, sign=False):
    """Replace a JSON dataset's text; with ``sign``, re-sign the digest (to reach the checks behind it)."""
    del f[name]
    f.create_dataset(name, data=np.frombuffer(text.encode(), np.uint8))
    if sign:
        from tests.engine.test_checkpoint_fuzz import _resign

        _resign(f)


def craft(saved, tmp_path, name, edit):
    path = tmp_path / name
    shutil.copy(saved, path)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


@pytest.mark.parametrize(
    "name, edit, match",
    [
        (
            "not_json",
            lambda f, c: set_text(f, "/.meta", "{'iteration': " + CANARY_CODE.format(canary=c) + "}"),
            "not valid JSON",
        ),
        (
            "code_string",
            lambda f, c: set_text(f, "/.network_spec", json.dumps(CANARY_CODE.format(canary=c))),
            "wrong structure",
        ),
        (
            "pickle_bytes",
            lambda f, c: f.attrs.__setitem__("meta", np.void(f"cos\nsystem\n(S'touch {c}'\ntR.".encode())),
            "unexpected root attribute 'meta'",
        ),
        (
            "object_dataset",
            lambda f, c: (
                f["parameters"].__delitem__("fc1.bias"),
                f["parameters"].create_dataset(
                    "fc1.bias", data=[CANARY_CODE.format(canary=c)] * 16, dtype=h5py.string_dtype()
                ),
            ),
            "non-numeric dtype",
        ),
        (
            "compound_dataset",
            lambda f, c: (
                f["parameters"].__delitem__("fc1.bias"),
                f["parameters"].create_dataset(
                    "fc1.bias", data=np.zeros(16, dtype=[("a", "f4"), ("b", "i4")])
                ),
            ),
            "non-numeric dtype",
        ),
        ("edited_values", lambda f, c: f["parameters/fc1.weights"].__setitem__((0, 0), 123.0), "digest"),
        (
            "bad_rng",
            lambda f, c: set_text(
                f, "/.meta", f["/.meta"][()].tobytes().decode().replace('"PCG64"', '"MT19937"'), sign=True
            ),
            "generator 'trainer': malformed state",
        ),
        (
            "version",
            lambda f, c: f.attrs.__setitem__("format_version", 99),
            "unsupported checkpoint format version",
        ),
        ("format", lambda f, c: f.attrs.__setitem__("format", "other"), "not a Sigma checkpoint"),
        ("missing_group", lambda f, c: f.__delitem__("optimiser"), "group 'optimiser' is missing"),
    ],
)
def test_crafted_files_are_rejected_and_nothing_runs(saved, tmp_path, name, edit, match):
    canary = tmp_path / f"canary_{name}"
    path = craft(saved, tmp_path, f"{name}.h5", lambda f: edit(f, str(canary)))
    expect_rejected(trained_trainer(), path, match)
    if name != "bad_rng":  # reading alone already refuses the file
        with pytest.raises(CheckpointError):
            checkpoint.info(path) if name != "edited_values" else checkpoint.load(path)
    assert not canary.exists()


def test_info_summarises_a_checkpoint(saved):
    summary = checkpoint.info(saved)
    assert (summary["epoch"], summary["iteration"], summary["optimiser"]) == (2, 4, "Adam")
    assert summary["parameters"] == sum(p.size for p in small_net().parameters().values())
    assert set(summary["last_metrics"]) >= {"loss", "val_loss", "accuracy"}
    assert summary["versions"]["numpy"] == np.__version__ and summary["size_bytes"] > 0


def test_no_pickle_or_eval_in_the_training_code():
    for folder in (
        "engine/checkpoint.py",
        "engine/training",
        "engine/hooks",
        "engine/optim",
        "engine/operator",
    ):
        target = os.path.join(ROOT, folder)
        files = (
            [target]
            if target.endswith(".py")
            else [os.path.join(d, f) for d, _, fs in os.walk(target) for f in fs if f.endswith(".py")]
        )
        for file in files:
            source = open(file).read()
            for bad in ("import pickle", "allow_pickle=True", "eval(", "exec("):
                assert bad not in source, f"{bad} in {file}"


def test_restore_while_running_is_refused(tmp_path, saved):

    trainer = small_trainer()
    started = threading.Event()
    trainer.add_hook(
        __import__("engine.hooks", fromlist=["FunctionHook"]).FunctionHook(
            lambda t: (started.set(), t.operator.pause()), every(1)
        )
    )
    thread = threading.Thread(target=trainer.fit, args=((X, Y),), kwargs={"epochs": 50}, daemon=True)
    thread.start()
    assert started.wait(20) and trainer.operator.wait("paused", timeout=20)
    with pytest.raises(CheckpointError, match="while training is running"):
        checkpoint.restore(trainer, saved)
    checkpoint.save(trainer, tmp_path / "while_paused.h5")  # saving at a pause is fine
    trainer.operator.stop()
    thread.join(20)
    assert checkpoint.info(tmp_path / "while_paused.h5")["iteration"] == 1


def test_cosine_schedule_and_early_stopping_state_round_trip(tmp_path):
    hooks = [LearningRateScheduler(CosineDecay(total_steps=10, warmup_steps=3)), EarlyStopping("val_loss")]
    trainer = small_trainer(hooks=hooks)
    trainer.fit((X, Y), epochs=2, validation=(VX, VY))
    checkpoint.save(trainer, tmp_path / "s.h5")
    other = small_trainer(
        hooks=[LearningRateScheduler(CosineDecay(total_steps=10, warmup_steps=3)), EarlyStopping("val_loss")]
    )
    checkpoint.restore(other, tmp_path / "s.h5")
    a, b = trainer.hooks.state_dict(), other.hooks.state_dict()
    assert a["LearningRateScheduler"]["schedule"] == b["LearningRateScheduler"]["schedule"]
    assert a["EarlyStopping"]["best"] == b["EarlyStopping"]["best"]
    assert_same_params(a["EarlyStopping"]["best_parameters"], b["EarlyStopping"]["best_parameters"])


def test_save_from_another_thread_mid_iteration_waits_for_the_boundary(tmp_path):

    from engine.hooks import FunctionHook

    inside, release = threading.Event(), threading.Event()
    trainer = small_trainer(hooks=[FunctionHook(lambda t: (inside.set(), release.wait(20)), every(1))])
    thread = threading.Thread(target=trainer.fit, args=((X, Y),), kwargs={"epochs": 1}, daemon=True)
    thread.start()
    assert inside.wait(20) and trainer.operator.state == "running"
    saver = threading.Thread(target=checkpoint.save, args=(trainer, tmp_path / "racy.h5"))
    saver.start()
    saver.join(0.5)
    assert saver.is_alive() and not (tmp_path / "racy.h5").exists()  # waiting, not failing
    release.set()  # the iteration ends; the state is taken at the boundary, written off the thread
    saver.join(20)
    thread.join(20)
    assert trainer.operator.state == "finished"
    assert checkpoint.info(tmp_path / "racy.h5")["iteration"] == 1


def test_checkpoint_names_say_the_project_and_the_iteration_of_the_state_taken(tmp_path):
    from engine.project import Project

    assert checkpoint.checkpoint_name(Project(name="x", path=tmp_path / "digits.sigma"), 1200) == (
        "digits-it001200.h5"
    )
    assert checkpoint.checkpoint_name(Project(name="My {net}/v2"), 7) == "My-net-v2-it000007.h5"
    trainer = small_trainer()
    trainer.fit((X, Y), epochs=1)
    assert trainer.iteration == 2  # 64 samples in batches of 32
    folder = tmp_path / "{braces}"  # only the file name is a template
    written = checkpoint.save(trainer, folder / "digits-it{iteration:06d}.h5", template=True)
    assert written == os.fspath(folder / "digits-it000002.h5")
    assert checkpoint.info(written)["iteration"] == 2
    old = shutil.copy(written, tmp_path / "checkpoint-e0001-i00000002.h5")  # an older name loads too
    assert checkpoint.load(old)["meta"]["iteration"] == 2


def test_restoring_with_other_hooks_says_which_states_were_left(saved):
    from engine.events import LogMessage

    trainer = small_trainer(hooks=[EarlyStopping("val_loss")])
    logs = []
    trainer.events.subscribe(logs.append, LogMessage)
    checkpoint.restore(trainer, saved)
    (log,) = logs
    assert "['EarlyStopping']" in log.message and "['CheckpointSaver', 'MetricReporter']" in log.message


def test_saves_under_random_pause_step_resume_all_succeed(tmp_path):
    """The issue's race: 10 of 123 saves failed under random start/pause/step/resume. Each save now
    waits for the iteration boundary, so every one succeeds and holds a consistent state."""
    import random

    trainer = small_trainer(batch_size=8)
    thread = threading.Thread(target=trainer.fit, args=((X, Y),), kwargs={"epochs": 10**6}, daemon=True)
    thread.start()
    assert trainer.operator.wait("running", timeout=20)
    chooser = random.Random(14)
    saved = []
    for k in range(30):
        getattr(trainer.operator, chooser.choice(["pause", "resume", "step", "resume"]))()
        saved.append(checkpoint.save(trainer, tmp_path / f"s{k}.h5"))
    trainer.operator.stop()
    thread.join(30)
    iterations = [checkpoint.info(p)["iteration"] for p in saved]
    assert iterations == sorted(iterations) and iterations[-1] > 0
    fresh = small_trainer(batch_size=8)
    checkpoint.restore(fresh, saved[-1])  # complete and consistent
    assert fresh.iteration == iterations[-1]
