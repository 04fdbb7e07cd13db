"""The studio's dockable panels: dataset, network builder, monitor, training."""
