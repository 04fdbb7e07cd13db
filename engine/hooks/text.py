"""The text sampler: a next-character model writes a few lines from a prompt while it learns."""

from __future__ import annotations

import numpy as np

from ..events import SamplePredictions
from .base import Hook
from .timestep import TimeStep

__all__ = ["TextSampler"]


class TextSampler(Hook):
    """Emit :class:`~engine.events.SamplePredictions` of ``kind="text"``: text the network generates.

    The network reads windows of ``window`` character indices (N, window) and gives next-character
    logits at every position (N, window, vocabulary), as a model trained on
    :func:`engine.data.samples.text`-style windows does. Starting from ``prompt``, the newest
    ``window`` characters go in and one character is drawn from the softmax of the last position's
    logits divided by ``temperature``; ``length`` times.

    Parameters
    ----------
    vocabulary : sequence of str
        The characters, in index order.
    prompt : str
        Where the text starts; every character must be in ``vocabulary``.
    window : int
        The network's sequence length (shorter prompts are padded on the left with ``pad``).
    length : int
        Characters generated each time.
    temperature : float
        Below 1 picks likely characters more often (0 is not allowed: use a small value).
    seed : int
        The draws use their own generator (seeded by ``seed`` and the iteration), so sampling never
        disturbs training's random state and the same iteration always writes the same text.
    pad : str, optional
        Padding character (default: a space if the vocabulary has one, else its first character).

    The event's ``inputs`` is the prompt and ``predictions`` the generated text (both ``str``).
    """

    default_timestep = TimeStep(1, "epoch")

    def __init__(
        self,
        vocabulary,
        prompt: str,
        window: int,
        length: int = 200,
        temperature: float = 0.7,
        seed: int = 0,
        pad: str | None = None,
        timestep: TimeStep | None = None,
        **kwargs,
    ):
        super().__init__(timestep, **kwargs)
        self.vocabulary = [str(c) for c in vocabulary]
        index = {c: i for i, c in enumerate(self.vocabulary)}
        if not self.vocabulary:
            raise ValueError("TextSampler needs a non-empty `vocabulary`")
        missing = sorted({c for c in prompt if c not in index})
        if not prompt or missing:
            raise ValueError(
                f"Invalid value for `prompt` in TextSampler. Expected text made of the vocabulary's "
                f"characters. Received: {prompt!r} (not in the vocabulary: {missing!r})"
            )
        if not isinstance(window, int) or window < 1 or not isinstance(length, int) or length < 1:
            raise ValueError(
                f"Invalid value for `window`/`length` in TextSampler. Expected positive integers. "
                f"Received: {window!r}, {length!r}"
            )
        if not temperature > 0:
            raise ValueError(
                f"Invalid value for `temperature` in TextSampler. Expected a positive number. "
                f"Received: {temperature!r}"
            )
        pad = pad if pad is not None else (" " if " " in index else self.vocabulary[0])
        self.prompt, self.window, self.length = prompt, window, length
        self.temperature, self.seed = float(temperature), int(seed)
        self._ids = [index[c] for c in prompt]
        self._pad = index[pad]

    def generate(self, trainer, iteration: int | None = None) -> str:
        """``length`` characters following the prompt, from ``trainer``'s network as it is now."""
        it = trainer.iteration if iteration is None else iteration
        rng = np.random.default_rng([self.seed, int(it)])
        ids = list(self._ids)
        out = []
        for _ in range(self.length):
            recent = ids[-self.window :]
            x = np.full((1, self.window), self._pad, dtype=np.float32)
            x[0, self.window - len(recent) :] = recent
            logits = np.asarray(trainer.predict(x, batch_size=1), dtype=np.float64)
            last = logits.reshape(-1, logits.shape[-1])[-1] / self.temperature
            p = np.exp(last - last.max())
            nxt = int(rng.choice(len(p), p=p / p.sum()))
            ids.append(nxt)
            out.append(self.vocabulary[nxt])
        return "".join(out)

    def run(self, trainer):
        text = self.generate(trainer)
        trainer.events.emit(
            SamplePredictions(
                source=trainer.name,
                epoch=trainer.epoch,
                iteration=trainer.iteration,
                kind="text",
                inputs=self.prompt,
                predictions=text,
            )
        )
