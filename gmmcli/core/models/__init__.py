"""The covariance-model table: one entry per model, the only code that knows a model.

Each entry is a :class:`~gmmcli.core.models.base.CovarianceModel` (built with keyword
arguments in the module of the same name, lower-cased) that owns everything model-specific:
the M-step from the summed statistics, the Cholesky factors of the precisions, Mahalanobis
terms, log-determinants, the fused kernel's quadratic features, dense covariances,
marginals of a subset of columns (missing values), rescaling between units, collapse
diagnostics and the number of free parameters. Nothing outside this package branches on
a model's name: adding a model is one module here, its name in :data:`MODEL_NAMES`, and
its tests.

The models are mclust's 14 (Celeux & Govaert 1995; Fraley & Raftery 2002),
Σ_k = λ_k D_k A_k D_kᵀ with volume, shape and orientation equal (E), variable (V) or the
identity (I), and its two one-column models E and V. Four of them keep scikit-learn's names
and model-file shapes: full (VVV), tied (EEE), diag (VVI) and spherical (VII); the mclust
names are accepted for them too (:func:`resolve_model_names`). The others are stored as
dense covariances and share the full model's kernels (``base.constrained_model``).

The names are plain strings so that the command line can offer them without importing
numpy; :data:`MODELS` (the entries) is built on first use.
"""

from __future__ import annotations

import importlib

MODEL_NAMES: tuple = ("full", "tied", "diag", "spherical", "EII", "EEI", "VEI", "EVI", "VEE", "EVE", "VVE", "EEV",
                      "VEV", "EVV", "E", "V")  # each the name of a module here, lower-cased
DEFAULT_MODEL: str = MODEL_NAMES[0]
# mclust's names for the models that keep scikit-learn's
ALIASES: dict = {"VVV": "full", "EEE": "tied", "VVI": "diag", "VII": "spherical"}
SKLEARN_MODELS: tuple = tuple(ALIASES.values())  # scikit-learn's covariance types (select's default grid)
# mclust's order (its BIC table and plots): every model of data with more than one column
MCLUST_ORDER: tuple = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV", "VEV",
                       "EVV", "VVV")
ONE_COLUMN_MODELS: tuple = ("E", "V")

__all__ = ["CovarianceModel", "MODELS", "MODEL_NAMES", "DEFAULT_MODEL", "get_model", "resolve_model_names"]


def __getattr__(name: str):
    if name == "MODELS":
        models = {n: importlib.import_module(f"{__name__}.{n.lower()}").MODEL for n in MODEL_NAMES}
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
    models = globals().get("MODELS") or __getattr__("MODELS")  # built once, then the same dict
    return models[name]


def canonical_name(name: str) -> str:
    """A model's name in the table, from any spelling: case-insensitive, mclust's names included."""
    wanted = name.strip()
    for candidate in MODEL_NAMES + tuple(ALIASES):
        if candidate.lower() == wanted.lower():
            return ALIASES.get(candidate, candidate)
    raise ValueError(f"unknown covariance model {name!r} (choose from {', '.join(all_spellings())})")


def all_spellings() -> tuple:
    """Every name a user may give (the table's and mclust's), once each."""
    return tuple(dict.fromkeys(MODEL_NAMES + tuple(ALIASES)))


def resolve_model_names(spec: str, n_features: int | None = None) -> tuple:
    """'VVV', 'full,EII', 'all' … → the table's names, in order, once each.

    ``all`` is mclust's 14 models (or E and V for one column when ``n_features`` is 1; the
    table's models when some are not written yet). ValueError for an unknown name.
    """
    names = []
    for token in (t for t in spec.split(",") if t.strip()):
        if token.strip().lower() == "all":
            names += list(every_model(n_features))
        else:
            try:
                names.append(canonical_name(token))
            except ValueError as exc:
                raise ValueError(str(exc)[:-1] + ", or all)") from None
    if not names:
        raise ValueError(f"no covariance model in {spec!r}")
    return tuple(dict.fromkeys(names))


def every_model(n_features: int | None = None) -> tuple:
    """``all``: mclust's models (E and V for one column), those the table has, in mclust's order."""
    order = ONE_COLUMN_MODELS if n_features == 1 else MCLUST_ORDER
    names = [ALIASES.get(n, n) for n in order]
    return tuple(n for n in names if n in MODEL_NAMES)
