"""The NaN guard says what went non-finite first (input data, a parameter, a gradient, the loss) and
stops a divergent run, on real training runs."""

import numpy as np
import pytest

from engine.autodiff.tensor import Tensor
from engine.hooks import DivergedError, NonFiniteError
from engine.optim import SGD, Adam
from tests.engine.training.nets import blobs, small_trainer

X, Y = blobs(n=96)


def test_non_finite_input_data_is_named():
    x = X.copy()
    x[40, 2] = np.nan
    trainer = small_trainer(batch_size=96)
    with pytest.raises(NonFiniteError, match="the input data") as caught, np.errstate(all="ignore"):
        trainer.fit((x, Y), epochs=1)
    assert caught.value.culprit == "input" and "learning rate" not in str(caught.value)
    assert trainer.iteration == 0  # stopped before the optimiser step wrote anything


def test_adam_at_a_learning_rate_of_1e6_is_flagged_as_divergent():
    trainer = small_trainer(optimiser=Adam(1e6), batch_size=16, dropout=0)
    with pytest.raises(NonFiniteError) as caught, np.errstate(all="ignore"):
        trainer.fit((X, Y), epochs=50)
    message = str(caught.value)
    assert isinstance(caught.value, DivergedError) or caught.value.culprit == "parameter", message
    assert "learning rate" in message
    params = trainer.network.parameters().values()
    assert all(np.isfinite(p.data).all() for p in params)  # never overwritten with NaN


def test_a_non_finite_parameter_is_named_with_the_step_that_wrote_it():
    trainer = small_trainer(optimiser=SGD(0.01), batch_size=32, dropout=0)
    trainer.fit((X, Y), epochs=1)
    trainer.network.parameters()["fc2.weights"].data[0, 0] = np.inf  # as a step gone wrong would
    with pytest.raises(NonFiniteError, match="parameter fc2.weights") as caught, np.errstate(all="ignore"):
        trainer.fit((X, Y), epochs=2)
    assert caught.value.culprit == "parameter"


def test_a_non_finite_gradient_with_a_finite_loss_is_named():
    def loss(outputs, targets):  # sqrt at 0 has an infinite derivative; the loss itself is finite
        x = outputs if isinstance(outputs, Tensor) else Tensor(outputs)
        return ((x - x) ** 2).sum() ** 0.5

    trainer = small_trainer(loss=loss, batch_size=32, dropout=0, metrics=())
    with pytest.raises(NonFiniteError, match="gradient of") as caught, np.errstate(all="ignore"):
        trainer.fit((X, Y), epochs=1)
    assert caught.value.culprit == "gradient"


def test_huge_finite_gradients_are_not_taken_for_non_finite_ones():
    # Gradients near 1e21: their squares overflow float32, so the guard's quick total is infinite; the
    # exact per-element test then finds every gradient finite and training goes on.
    def loss(outputs, targets):
        x = outputs if isinstance(outputs, Tensor) else Tensor(outputs)
        return (x * 1e20).sum()

    trainer = small_trainer(loss=loss, optimiser=SGD(0.0), batch_size=32, dropout=0, metrics=())
    with np.errstate(over="ignore"):
        trainer.fit((X, Y), epochs=1, max_iterations=2)
    grads = [p.grad.data for p in trainer.network.parameters().values()]
    assert trainer.iteration == 2 and max(float(np.abs(g).max()) for g in grads) > 1e19
    assert all(np.isfinite(g).all() for g in grads)
