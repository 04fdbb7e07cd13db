"""Networks: linear stacks and graphs of layers, one JSON spec for both (format in :mod:`.graph`)."""

from .graph import FORMAT, NetworkError, analyse, validate_spec
from .network import Network
from .stack import Node, Stack

__all__ = ["Network", "NetworkError", "Stack", "Node", "validate_spec", "analyse", "FORMAT"]
