"""``python -m bench paint``: time to paint the cat sharp, old network against new, side by side.

Both networks train the "Paint the cat" project (``engine.templates.cat_project``: the studio's
settings, its sample-prediction streamer included, as pressing Start does) in one process, taking turns
epoch by epoch so both see the same machine phases. After every epoch the streamer's PSNR of the whole
picture is read; the report gives each network's training wall time and CPU time until it first reached
25, 28 and 30 dB ("-": not within the budget).

- old: ``engine.templates.relu_painter``, raw (x, y) into a 256x3 ReLU network (the first cat painter);
- new: ``engine.templates.cat_painter``, Gaussian Fourier features (256, scale 10) then the same layers.

On a shared machine wall time is pessimistic (other processes take the cores); CPU time counts only
this process's work, but also grows when BLAS threads wait for a core, so read both. Run
``python -m bench paint --help`` for the options.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from bench import harness

__all__ = ["main", "run"]

THRESHOLDS = (25.0, 28.0, 30.0)


def _contender(label: str, network: dict):
    from engine.events import SamplePredictions
    from engine.run import build_run
    from engine.templates import cat_project

    project = cat_project()
    project.network = network
    run = build_run(project)
    state = {"label": label, "run": run, "wall": 0.0, "cpu": 0.0, "epochs": 0, "psnr": None, "reached": {}}
    run.trainer.events.subscribe(
        lambda e: state.update(psnr=e.psnr) if e.psnr is not None else None, SamplePredictions
    )
    return state


def _epoch(state) -> None:
    run = state["run"]
    wall, cpu = time.perf_counter(), time.process_time()
    run.fit(epochs=state["epochs"] + 1)
    state["wall"] += time.perf_counter() - wall
    state["cpu"] += time.process_time() - cpu
    state["epochs"] += 1
    for level in THRESHOLDS:
        if level not in state["reached"] and state["psnr"] is not None and state["psnr"] >= level:
            state["reached"][level] = (state["wall"], state["cpu"], state["epochs"])


def run(seconds: float = 60.0, clock: str = "wall") -> list[dict]:
    """Train both networks, alternating epochs, until each reached 30 dB or spent ``seconds`` of
    training time (``clock`` "wall" or "cpu": CPU time is the steadier budget on a busy machine);
    returns one record per network."""
    from engine.templates import cat_painter, relu_painter

    harness.tune_allocator()
    contenders = [
        _contender("old: ReLU on (x, y)", relu_painter()),
        _contender("new: Fourier features", cat_painter()),
    ]
    active = list(contenders)
    while active:
        for state in list(active):
            _epoch(state)
            if state[clock] >= seconds or THRESHOLDS[-1] in state["reached"]:
                active.remove(state)
    return [
        {
            "network": s["label"],
            "epochs": s["epochs"],
            "iterations": s["run"].trainer.iteration,
            "train_wall_s": round(s["wall"], 2),
            "train_cpu_s": round(s["cpu"], 2),
            "final_psnr_db": None if s["psnr"] is None else round(s["psnr"], 2),
            "reached": {
                f"{k:g}": {"wall_s": round(w, 2), "cpu_s": round(c, 2), "epochs": e}
                for k, (w, c, e) in s["reached"].items()
            },
        }
        for s in contenders
    ]


def format_table(records: list[dict]) -> str:
    head = f"{'network':24s}" + "".join(f" | {f'{t:g} dB wall / cpu (epochs)':>26s}" for t in THRESHOLDS)
    lines = [head + " | final PSNR", "-" * (len(head) + 13)]
    for r in records:
        cells = []
        for t in THRESHOLDS:
            hit = r["reached"].get(f"{t:g}")
            cells.append(
                f"{hit['wall_s']:7.1f} s / {hit['cpu_s']:6.1f} s ({hit['epochs']:3d})" if hit else "-"
            )
        final = "-" if r["final_psnr_db"] is None else f"{r['final_psnr_db']:.1f} dB"
        lines.append(
            f"{r['network']:24s}"
            + "".join(f" | {c:>26s}" for c in cells)
            + f" | {final} after {r['epochs']} epochs"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench paint", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="training-time budget per network")
    parser.add_argument(
        "--clock", choices=("wall", "cpu"), default="wall", help="which time the budget counts (default wall)"
    )
    parser.add_argument("--json", help="also write the records to this file")
    args = parser.parse_args(argv)
    records = run(args.seconds, args.clock)
    pressure = harness.cpu_pressure() if hasattr(harness, "cpu_pressure") else None
    print(format_table(records))
    print(
        f"(cores: {os.cpu_count()}; CPU pressure during the run: {pressure}; times are training only, "
        "the streamer's whole-picture prediction after every epoch included)"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"records": records, "seconds": args.seconds, "clock": args.clock}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
