"""A fitted model as scikit-learn objects: ``Pipeline(StandardScaler, GaussianMixture)``.

Imported only by :meth:`gmmcli.GaussianMixture.to_sklearn`: scikit-learn is imported here,
inside the function, never when gmmcli is imported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gmmcli.api.parameters import scaler_arrays, total_weight
from gmmcli.core.models import SKLEARN_MODELS
from gmmcli.io.model_file import Model

# gmmcli's initialisations by scikit-learn's names (hc has none: scikit-learn's default stands in)
SKLEARN_INIT = {"kmeans++": "k-means++", "kmeans": "kmeans", "random": "random",
                "random-from-data": "random_from_data"}


def to_sklearn_pipeline(model: Model, params: dict[str, Any]) -> Any:
    """scikit-learn's fitted pipeline for ``model``: its scaler (identity when unscaled), then its mixture
    in the fitted space, so labels and probabilities are the model's own.

    Parameters
    ----------
    model : Model
    params : dict
        The gmmcli estimator's parameters (tol, reg_covar, max_iter, n_init, init_params,
        random_state carry over).

    Raises
    ------
    ImportError
        scikit-learn is not installed.
    ValueError
        The covariance model is one scikit-learn does not have.
    """
    covariance_type = model.params.covariance_type
    if covariance_type not in SKLEARN_MODELS:
        raise ValueError(f"to_sklearn: scikit-learn has no {covariance_type} covariance model (it has "
                         f"{', '.join(SKLEARN_MODELS)})")
    try:
        from sklearn.pipeline import Pipeline
    except ImportError as exc:
        raise ImportError("to_sklearn needs scikit-learn: pip install scikit-learn") from exc
    return Pipeline([("standardscaler", _scaler(model)), ("gaussianmixture", _mixture(model, params))])


def _scaler(model: Model) -> Any:
    from sklearn.preprocessing import StandardScaler

    mean, scale = scaler_arrays(model)
    scaler = StandardScaler()
    scaler.mean_, scaler.scale_, scaler.var_ = mean, scale, scale**2
    scaler.n_samples_seen_ = int(round(total_weight(model)))
    scaler.n_features_in_ = len(mean)
    if model.has_header:
        scaler.feature_names_in_ = np.asarray(model.feature_names, dtype=object)
    return scaler


def _mixture(model: Model, params: dict[str, Any]) -> Any:
    from sklearn.mixture import GaussianMixture

    from gmmcli.api.parameters import lower_bounds, precisions_from_cholesky, stores_matrices

    fitted = model.params  # the fitted space: the scaler's output is what scikit-learn's mixture sees
    random_state = params.get("random_state")
    mixture = GaussianMixture(
        n_components=fitted.n_components, covariance_type=fitted.covariance_type, tol=params.get("tol", 1e-3),
        reg_covar=params.get("reg_covar", 1e-6), max_iter=params.get("max_iter", 100),
        n_init=params.get("n_init", 1), init_params=SKLEARN_INIT.get(params.get("init_params", ""), "kmeans"),
        random_state=random_state if isinstance(random_state, int) else None,
    )
    matrices = stores_matrices(fitted.covariance_type, fitted.n_components, fitted.n_features)
    mixture.weights_, mixture.means_, mixture.covariances_ = fitted.weights, fitted.means, fitted.covariances
    mixture.precisions_cholesky_ = fitted.precisions_chol
    mixture.precisions_ = precisions_from_cholesky(fitted.precisions_chol, matrices)
    mixture.converged_, mixture.n_iter_ = bool(model.converged), int(model.n_iter)
    bounds = lower_bounds(model, original_units=False)
    mixture.lower_bound_, mixture.lower_bounds_ = float(bounds[-1]), list(bounds[1:])
    mixture.n_features_in_ = fitted.n_features
    return mixture
