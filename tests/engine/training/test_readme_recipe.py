"""The README's training recipe, verbatim apart from the asserts: it must run as written."""


def test_readme_recipe(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the recipe writes to runs/digits

    # ---------------------------------------------------------------- recipe (README.md) starts
    # fmt: off
    import engine.data  # noqa: I001 - kept as the README shows it
    from engine import checkpoint
    from engine.console import ConsoleMonitor
    from engine.hooks import (CheckpointSaver, EarlyStopping, LearningRateScheduler, MetricReporter,
                              Threshold, TimeStep, ValidationMetrics)
    from engine.init import Constant, HeNormal
    from engine.layers import Dense, Dropout, Input, SoftmaxCrossEntropy
    from engine.network import Network
    from engine.optim import Adam, CosineDecay
    from engine.training import Trainer

    # The dataset: 1,797 handwritten digits of 8x8 pixels, split 80/20 with the classes balanced.
    digits = engine.data.samples.digits()
    parts = digits.split({"train": 0.8, "test": 0.2}, seed=0)

    def make_trainer():
        # The network, written the Sigma way: a linear stack of layers ending in a loss head.
        network = Network(Input((64,)) + Dense(128, activation="relu") + Dropout(0.2)
                          + Dense(64, activation="relu") + Dense(10) + SoftmaxCrossEntropy())
        # The trainer: optimiser, initialisers by registry pattern, metrics and hooks.
        return Trainer(
            network,
            optimiser=Adam(learning_rate=0.003),
            batch_size=64,
            seed=42,
            metrics=["accuracy"],
            initialisers={"*.weights": HeNormal(), "*.bias": Constant(0.0)},
            hooks=[
                MetricReporter(TimeStep(10, "iteration")),            # loss, accuracy, throughput, ETA
                LearningRateScheduler(CosineDecay(total_steps=12 * 23, warmup_steps=23)),  # per iteration
                ValidationMetrics(parts["test"], top_k=(1, 3)),        # per-class metrics, confusion matrix
                EarlyStopping(monitor="val_loss", patience=5, restore_best=True),
                CheckpointSaver("runs/digits", best_only=True, monitor="val_accuracy", mode="max"),
                CheckpointSaver("runs/digits", TimeStep(2, "epoch"), keep_last=2,   # every 2 epochs,
                                criterion=Threshold("val_accuracy", ">", 0.9)),     # once good enough
            ],
        )

    # Train 6 of the 12 epochs with progress on the console; save everything an exact resume needs.
    trainer = make_trainer()
    ConsoleMonitor(every=10).attach(trainer.events)
    trainer.fit(parts["train"], epochs=6, validation=parts["test"])
    checkpoint.save(trainer, "runs/digits/half-way.h5")
    print(checkpoint.info("runs/digits/half-way.h5")["last_metrics"])

    # Later, in a new session: a fresh trainer continues exactly where the saved one stopped.
    resumed = make_trainer()
    ConsoleMonitor(every=10).attach(resumed.events)
    checkpoint.restore(resumed, "runs/digits/half-way.h5")
    resumed.fit(parts["train"], epochs=12, validation=parts["test"])
    print(resumed.evaluate(parts["test"]))                      # {'loss': ..., 'accuracy': ...}
    # fmt: on
    # ---------------------------------------------------------------- recipe ends

    assert resumed.evaluate(parts["test"])["accuracy"] > 0.95
    assert resumed.history[:6] == trainer.history and resumed.epoch == len(resumed.history) <= 12
    files = sorted(p.name for p in (tmp_path / "runs" / "digits").iterdir())
    assert "best.h5" in files and "half-way.h5" in files and len(files) == 4
    out = capsys.readouterr().out
    assert "epoch 6 done" in out and "finished" in out and "checkpoint saved" in out
