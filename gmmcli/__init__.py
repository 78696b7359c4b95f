"""gmmcli: Gaussian mixture models for CSV data, from the command line and from Python.

``from gmmcli import GaussianMixture, load_model, select``: the Python API (:mod:`gmmcli.api`)
is imported on first use, so ``import gmmcli`` (and ``gmmcli --help``) loads no numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "1.0.0"

# the names gmmcli exports from gmmcli.api, imported only when first asked for; type checkers read
# them from __init__.pyi (an import here, even under TYPE_CHECKING, would make every module that
# reads __version__ depend on the API layer above it)
_API_NAMES = ("GaussianMixture", "load_model", "select", "Selection", "NotFittedError", "ConvergenceWarning",
              "FitWarning", "InvalidParameterError")

__all__ = ["__version__", *_API_NAMES]


def __getattr__(name: str) -> Any:
    if name in _API_NAMES:
        value = getattr(importlib.import_module("gmmcli.api"), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API_NAMES))
