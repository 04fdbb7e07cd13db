"""PyTorch CPU builders of the same training steps (optional: only when ``import torch`` works)."""

from __future__ import annotations

import os

from . import Unavailable

__all__ = ["build", "blas_threads"]


def blas_threads() -> int:
    """How many threads numpy's BLAS uses (threadpoolctl when installed, else the environment/CPU count)."""
    try:
        from threadpoolctl import threadpool_info

        counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        if counts:
            return int(max(counts))
    except Exception:  # threadpoolctl missing or confused: fall back to what OpenBLAS reads
        pass
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return os.cpu_count() or 1


def _import_torch():
    try:
        import torch
    except Exception as exc:  # ImportError, or a broken install raising at import
        raise Unavailable(f"PyTorch is not installed ({type(exc).__name__})") from exc
    torch.set_num_threads(blas_threads())
    return torch


def _model(torch, kind: str, config: dict):
    nn = torch.nn
    if kind in ("mlp_ce", "coord_mlp"):
        sizes = config["sizes"]
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        if kind == "coord_mlp":
            layers.append(nn.Sigmoid())
        return nn.Sequential(*layers)
    if kind == "cnn":
        c1, c2 = config["channels"]
        s = config["size"] // 4
        return nn.Sequential(
            nn.Conv2d(config["in_channels"], c1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(c2 * s * s, config["classes"]),
        )
    if kind in ("lstm", "gru"):
        cell = nn.LSTM if kind == "lstm" else nn.GRU

        class LastStep(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = cell(config["inputs"], config["hidden"], batch_first=True)
                self.fc = nn.Linear(config["hidden"], config["classes"])

            def forward(self, x):
                out, _ = self.rnn(x)
                return self.fc(out[:, -1])

        return LastStep()
    raise ValueError(f"unknown workload kind {kind!r}")


def build(workload, config: dict, x, y, seed: int = 0):
    """One PyTorch training step on the fixed batch ``(x, y)``: returns ``step()``.

    Raises
    ------
    Unavailable
        When PyTorch cannot be imported.
    """
    torch = _import_torch()
    torch.manual_seed(seed)
    kind = workload.kind
    model = _model(torch, kind, config)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    if kind == "mlp_ce":
        opt = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=config["lr"])
    loss_fn = torch.nn.MSELoss() if kind == "coord_mlp" else torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    return step
