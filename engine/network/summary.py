"""The text table that ``Network.summary()`` returns."""

from __future__ import annotations

__all__ = ["summary_table", "human"]


def human(n: int) -> str:
    """A count with a unit suffix: 1234 -> '1.23K', 5_600_000 -> '5.6M'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)


def summary_table(net) -> str:
    """Layer, type, inputs, per-sample output shape, parameters and forward FLOPs per sample; totals."""
    header = ("Layer", "Type", "Inputs", "Output shape", "Params", "FLOPs")
    rows = []
    for name, layer in net.layers.items():
        info = net.node_info(name)
        rows.append(
            (
                name,
                layer.type_name,
                ", ".join(info.inputs) or "-",
                str(tuple(info.output_shape)),
                f"{layer.param_count():,}",
                human(info.flops or 0),
            )
        )
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    right = {4, 5}

    def line(cells):
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    rule = "-" * len(line(["x" * w for w in widths]))
    trainable = sum(
        p.size for layer in net.layers.values() if layer.trainable for p in layer.parameters.values()
    )
    total = net.param_count()
    out = [
        line(header),
        rule,
        *(line(r) for r in rows),
        rule,
        f"Total parameters: {total:,} ({trainable:,} trainable, {total - trainable:,} frozen)",
        f"Forward FLOPs per sample: {net.flops():,} ({human(net.flops())})",
        f"Inputs: {', '.join(f'{n} {tuple(s)}' for n, s in net.input_shapes.items())}; "
        f"outputs: {', '.join(f'{n} {tuple(s)}' for n, s in net.output_shapes.items())}",
    ]
    if net.loss_head is not None:
        out.append(f"Loss head: {net.loss_head.name} ({net.loss_head.type_name})")
    return "\n".join(out)
