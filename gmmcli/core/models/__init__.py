"""The covariance-model table: one entry per model, the only code that knows a model.

Each entry is a :class:`~gmmcli.core.models.base.CovarianceModel` (built with keyword
arguments in the module of the same name) that owns everything model-specific: the
M-step from the summed statistics, the Cholesky factors of the precisions, Mahalanobis
terms, log-determinants, the fused kernel's quadratic features, dense covariances,
marginals of a subset of columns (missing values), rescaling between units, collapse
diagnostics and the number of free parameters. Nothing outside this package branches on
a model's name: adding a model is one module here, its name in :data:`MODEL_NAMES`, and
its tests.

The names are plain strings so that the command line can offer them without importing
numpy; :data:`MODELS` (the entries) is built on first use.
"""

from __future__ import annotations

import importlib

MODEL_NAMES: tuple = ("full", "tied", "diag", "spherical")  # each the name of a module here
DEFAULT_MODEL: str = MODEL_NAMES[0]

__all__ = ["CovarianceModel", "MODELS", "MODEL_NAMES", "DEFAULT_MODEL", "get_model"]


def __getattr__(name: str):
    if name == "MODELS":
        models = {n: importlib.import_module(f"{__name__}.{n}").MODEL for n in MODEL_NAMES}
        globals()["MODELS"] = models  # built once
        return models
    if name == "CovarianceModel":
        from gmmcli.core.models.base import CovarianceModel

        return CovarianceModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_model(name: str):
    """The table's entry for ``name``; ValueError naming the choices for an unknown one."""
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown covariance model {name!r} (choose from {', '.join(MODEL_NAMES)})")
    return __getattr__("MODELS")[name]
