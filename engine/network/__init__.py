"""Networks: linear stacks and graphs of layers, one JSON spec for both (format in :mod:`.graph`)."""

from .fit import FitReport, Mismatch, check_fit, fit_to_data
from .graph import FORMAT, NetworkError, analyse, validate_spec
from .network import Network
from .stack import Node, Stack

__all__ = [
    "Network",
    "NetworkError",
    "Stack",
    "Node",
    "validate_spec",
    "analyse",
    "FORMAT",
    "check_fit",
    "fit_to_data",
    "FitReport",
    "Mismatch",
]
