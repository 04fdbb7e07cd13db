"""Initialisers and their assignment to parameters by identifier pattern.

>>> from engine.init import XavierUniform, Constant
>>> rules = {"*.weights": XavierUniform(), "conv*.bias": Constant(0.1)}
>>> net.initialise(rules, seed=0)        # doctest: +SKIP
"""

from .assign import choose, initialise, rules_from_spec, rules_to_spec, specificity
from .initialisers import (
    Constant,
    FunctionInitialiser,
    Gaussian,
    Initialiser,
    Ones,
    Orthogonal,
    SirenUniform,
    Uniform,
    Zeros,
    as_initialiser,
    compute_fans,
    from_spec,
    register_function,
)
from .scaled import (
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    KaimingNormal,
    KaimingUniform,
    LeCun,
    LeCunNormal,
    LeCunUniform,
    XavierNormal,
    XavierUniform,
)

__all__ = [
    "Initialiser",
    "Constant",
    "Zeros",
    "Ones",
    "Uniform",
    "SirenUniform",
    "Gaussian",
    "XavierUniform",
    "XavierNormal",
    "GlorotUniform",
    "GlorotNormal",
    "HeUniform",
    "HeNormal",
    "KaimingUniform",
    "KaimingNormal",
    "LeCunUniform",
    "LeCunNormal",
    "LeCun",
    "Orthogonal",
    "FunctionInitialiser",
    "register_function",
    "compute_fans",
    "as_initialiser",
    "from_spec",
    "initialise",
    "choose",
    "specificity",
    "rules_to_spec",
    "rules_from_spec",
]
