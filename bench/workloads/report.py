"""The training bench's report: engine targets, the printed table, and comparing two saved runs."""

from __future__ import annotations

__all__ = [
    "TARGETS",
    "RSS_TARGET_MIB",
    "SPEED_TARGETS",
    "OVERHEAD_TARGET",
    "check_targets",
    "format_table",
    "compare",
]

#: Engine targets from issue 10: max ratio to numpy, max ratio to torch (None: no target).
TARGETS = {
    "W1": {"numpy": 1.15, "torch": 1 / 0.9},
    "W2": {"numpy": 1.15, "torch": 1.0},
    "W3-LSTM": {"numpy": 1.10, "torch": None},
    "W3-GRU": {"numpy": 1.10, "torch": None},
    "W4": {"numpy": 1.15, "torch": 1.0},
}
RSS_TARGET_MIB = 150.0

#: Issue 22 targets, on the user's path: engine speed / PyTorch speed through ``Trainer.fit`` with the
#: studio's hooks (the ``studio`` rows) at least this, as the median of interleaved per-round ratios.
SPEED_TARGETS = {"W1": 1.0, "W2": 1.0, "W3-LSTM": 0.9, "W3-GRU": 1.0, "W4": 1.1}
#: Issue 22: ``fit`` (and ``studio``) time over the bare step at most this on these workloads.
OVERHEAD_TARGET = 1.05
OVERHEAD_WORKLOADS = ("W1", "W2")


def check_targets(results) -> list[dict]:
    """Each engine result against its targets: ``{"workload", "what", "value", "limit", "met"}`` dicts."""
    by = {(r["workload"], r["implementation"]): r for r in results}
    checks = []
    for (name, impl), row in by.items():
        if impl in ("fit", "studio") and row["available"]:
            checks.extend(_fit_checks(name, impl, row))
        if impl != "engine" or not row["available"]:
            continue
        for ref, limit in TARGETS.get(name, {}).items():
            ratio = row.get(f"vs_{ref}")
            if limit is not None and ratio is not None:
                checks.append(
                    {
                        "workload": name,
                        "what": f"engine/{ref} time",
                        "value": ratio,
                        "limit": limit,
                        "met": ratio <= limit,
                    }
                )
        rss = row.get("peak_rss_mib")
        if rss is not None:
            checks.append(
                {
                    "workload": name,
                    "what": "engine peak RSS MiB",
                    "value": rss,
                    "limit": RSS_TARGET_MIB,
                    "met": rss <= RSS_TARGET_MIB,
                }
            )
    return checks


def _fit_checks(name: str, impl: str, row: dict) -> list[dict]:
    """Issue 22's checks of a ``fit``/``studio`` row: speed against PyTorch, overhead, peak RSS."""
    checks = []
    pairs = row.get("pairs", {})
    torch = pairs.get("torch")
    if impl == "studio" and torch and name in SPEED_TARGETS:
        speed = 1.0 / torch["median"]
        spread = f"{1 / torch['max']:.2f}-{1 / torch['min']:.2f}"
        checks.append(
            _check(name, "studio/torch speed", speed, SPEED_TARGETS[name], speed >= SPEED_TARGETS[name])
        )
        checks[-1].update(at_least=True, spread=spread, n=torch["n"])
    bare = pairs.get("engine")
    if bare and name in OVERHEAD_WORKLOADS:
        over = bare["median"]
        checks.append(_check(name, f"{impl}/bare step time", over, OVERHEAD_TARGET, over <= OVERHEAD_TARGET))
        checks[-1].update(spread=f"{bare['min']:.2f}-{bare['max']:.2f}", n=bare["n"])
    rss = row.get("peak_rss_mib")
    if rss is not None:
        checks.append(_check(name, f"{impl} peak RSS MiB", rss, RSS_TARGET_MIB, rss <= RSS_TARGET_MIB))
    return checks


def _check(workload, what, value, limit, met) -> dict:
    return {"workload": workload, "what": what, "value": value, "limit": limit, "met": bool(met)}


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def format_table(report: dict) -> str:
    """The report as a plain-text table (one line per workload and implementation) plus targets."""
    clock = report.get("meta", {}).get("clock", "wall")
    cols = ("ms/step" if clock == "wall" else "cpu ms", "min-max", "vs numpy", "vs torch", "peak MiB")
    head = f"{'workload':<9} {'impl':<7} " + " ".join(f"{c:>{15 if c == 'min-max' else 9}}" for c in cols)
    lines = [head, "-" * len(head)]
    for r in report["results"]:
        if not r["available"]:
            lines.append(f"{r['workload']:<9} {r['implementation']:<7} not available ({r['reason']})")
            continue
        s = r["samples_ms"]
        if not s:
            lines.append(f"{r['workload']:<9} {r['implementation']:<7} failed ({r.get('error')})")
            continue
        spread = f"{min(s):.2f}-{max(s):.2f}"
        lines.append(
            f"{r['workload']:<9} {r['implementation']:<7} {r['ms_per_step']:>9.2f} {spread:>15} "
            f"{_fmt(r.get('vs_numpy'), '9.2f'):>9} {_fmt(r.get('vs_torch'), '9.2f'):>9} "
            f"{_fmt(r.get('peak_rss_mib'), '9.1f'):>9}"
        )
    if report.get("targets"):
        lines += ["", "engine targets:"]
        for t in report["targets"]:
            mark = "met" if t["met"] else "MISSED"
            bound = "at least" if t.get("at_least") else "limit"
            spread = f" [{t['spread']} over {t['n']} pairs]" if "spread" in t else ""
            lines.append(
                f"  {t['workload']:<9} {t['what']:<22} {t['value']:8.2f} ({bound} {t['limit']:.2f}) "
                f"{mark}{spread}"
            )
    return "\n".join(lines)


def compare(old: dict, new: dict) -> str:
    """Two reports side by side: ms/step of each (workload, implementation) and new/old."""
    before = {(r["workload"], r["implementation"]): r.get("ms_per_step") for r in old["results"]}
    lines = [
        f"old: {old['meta'].get('commit')} {old['meta'].get('date')}   new: {new['meta'].get('commit')} "
        f"{new['meta'].get('date')}",
        f"{'workload':<9} {'impl':<7} {'old ms':>9} {'new ms':>9} {'new/old':>8}",
    ]
    for r in new["results"]:
        a, b = before.get((r["workload"], r["implementation"])), r.get("ms_per_step")
        ratio = f"{b / a:8.2f}" if a and b else f"{'-':>8}"
        lines.append(
            f"{r['workload']:<9} {r['implementation']:<7} {_fmt(a, '9.2f'):>9} {_fmt(b, '9.2f'):>9} {ratio}"
        )
    return "\n".join(lines)
