"""Between a model file's parameters and scikit-learn's fitted attributes, both ways.

A :class:`~gmmcli.io.model_file.Model` keeps its parameters in the space it was fitted in (the
scaler's output); scikit-learn's attributes are in the data's own units, with precisions and
their Cholesky factors beside the covariances. The covariance model's storage shape (from the
model table) says whether a covariance is a matrix (inverted) or a set of variances
(reciprocals); no covariance model is named here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from gmmcli.core.models import get_model
from gmmcli.core.params import GaussianMixtureParams
from gmmcli.io.model_file import Model
from gmmcli.pipeline.arrays import StartOverrides, to_original_units

FloatArray = NDArray[np.float64]


def stores_matrices(covariance_type: str, n_components: int, n_features: int) -> bool:
    """Whether the model stores covariance matrices ((K, D, D), or (D, D) shared) rather than variances."""
    model = get_model(covariance_type)
    return len(model.shape(n_components, n_features)) == (2 if model.shared else 3)


def precisions_from_cholesky(precisions_chol: FloatArray, matrices: bool) -> FloatArray:
    """Λ = P Pᵀ from the precisions' Cholesky factors P (variances: P²), as scikit-learn."""
    if matrices:
        return np.asarray(precisions_chol @ np.swapaxes(precisions_chol, -1, -2), dtype=np.float64)
    return np.asarray(precisions_chol**2, dtype=np.float64)


def covariances_from_precisions(precisions: FloatArray, matrices: bool) -> FloatArray:
    """Σ = Λ⁻¹ (variances: 1 / λ), symmetrised against rounding."""
    if not matrices:
        return np.asarray(1.0 / precisions, dtype=np.float64)
    inverse = np.linalg.inv(precisions)
    return np.asarray(0.5 * (inverse + np.swapaxes(inverse, -1, -2)), dtype=np.float64)


def params_in_original_units(model: Model) -> GaussianMixtureParams:
    """The model's mixture in the data's own units (what sampling and scikit-learn users see)."""
    return to_original_units(model.params, model.scaler) if model.scaler is not None else model.params


def fitted_attributes(model: Model) -> dict[str, Any]:
    """scikit-learn's fitted attributes of a model, in the data's own units.

    Returns
    -------
    dict
        ``weights_`` (K,), ``means_`` (K, D), ``covariances_`` and ``precisions_`` and
        ``precisions_cholesky_`` (the model's storage shape), ``converged_``, ``n_iter_``,
        ``lower_bound_`` (mean log-likelihood per row of the final parameters, original units),
        ``lower_bounds_`` (the same after every E-step, the first being the start's: n_iter_ + 1
        values), ``n_features_in_``, ``noise_weight_`` (the noise component's proportion π₀; 0.0
        without one) and ``hypervolume_`` (its V in the data's units; None without one), and
        ``feature_names_in_`` when the model's columns had names.
    """
    params = params_in_original_units(model)
    matrices = stores_matrices(params.covariance_type, params.n_components, params.n_features)
    attributes: dict[str, Any] = {
        "weights_": params.weights, "means_": params.means, "covariances_": params.covariances,
        "precisions_cholesky_": params.precisions_chol,
        "precisions_": precisions_from_cholesky(params.precisions_chol, matrices),
        "converged_": bool(model.converged), "n_iter_": int(model.n_iter),
        "lower_bound_": float(model.log_likelihood["mean_original_units"]),
        "lower_bounds_": lower_bounds(model), "n_features_in_": params.n_features,
        "noise_weight_": 0.0 if params.noise is None else float(params.noise.weight),
        "hypervolume_": model.hypervolume,
    }
    if model.has_header:
        attributes["feature_names_in_"] = np.asarray(model.feature_names, dtype=object)
    return attributes


def lower_bounds(model: Model, original_units: bool = True) -> FloatArray:
    """The chosen restart's mean log-likelihood per row after every E-step (n_iter + 1 values), in
    the data's own units or (``original_units=False``) in the space the model was fitted in."""
    log_likelihood = model.log_likelihood
    jacobian = float(log_likelihood["total_original_units"]) - float(log_likelihood["total"])
    history = np.asarray(model.history["restarts"][model.history["chosen"]]["log_likelihood"], dtype=np.float64)
    return (history + (jacobian if original_units else 0.0)) / total_weight(model)


def start_overrides(weights: Any, means: Any, precisions: Any, covariance_type: str, n_components: int,
                    n_features: int) -> StartOverrides:
    """The user's ``weights_init``, ``means_init`` and ``precisions_init``, checked with
    scikit-learn's messages, as starting values (precisions turned into covariances).

    Raises
    ------
    ValueError
        A wrong shape, weights outside [0, 1] or not summing to 1, precisions not positive definite.
    """
    matrices = stores_matrices(covariance_type, n_components, n_features)
    return StartOverrides(
        weights=None if weights is None else check_weights(weights, n_components),
        means=None if means is None else check_means(means, n_components, n_features),
        covariances=None if precisions is None else covariances_from_precisions(
            check_precisions(precisions, covariance_type, n_components, n_features), matrices),
    )


def check_weights(weights: Any, n_components: int) -> FloatArray:
    array = np.asarray(weights, dtype=np.float64)
    if array.shape != (n_components,):
        raise ValueError(f"The parameter 'weights' should have the shape of ({n_components},), but got "
                         f"{array.shape}")
    if array.min() < 0 or array.max() > 1:
        raise ValueError(f"The parameter 'weights' should be in the range [0, 1], but got min value "
                         f"{array.min():.5f}, max value {array.max():.5f}")
    if not np.allclose(np.abs(1.0 - array.sum()), 0.0):
        raise ValueError(f"The parameter 'weights' should be normalized, but got sum(weights) = {array.sum():.5f}")
    return array


def check_means(means: Any, n_components: int, n_features: int) -> FloatArray:
    array = np.asarray(means, dtype=np.float64)
    if array.shape != (n_components, n_features):
        raise ValueError(f"The parameter 'means' should have the shape of ({n_components}, {n_features}), but got "
                         f"{array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("The parameter 'means' should be finite")
    return array


def check_precisions(precisions: Any, covariance_type: str, n_components: int, n_features: int) -> FloatArray:
    """Precisions of the model's storage shape: positive variances, or symmetric positive-definite matrices."""
    array = np.asarray(precisions, dtype=np.float64)
    shape = get_model(covariance_type).shape(n_components, n_features)
    if array.shape != shape:
        raise ValueError(f"The parameter '{covariance_type} precision' should have the shape of {shape}, but got "
                         f"{array.shape}")
    if not stores_matrices(covariance_type, n_components, n_features):
        if not (np.isfinite(array).all() and (array > 0).all()):
            raise ValueError(f"'{covariance_type} precision' should be positive")
        return array
    matrices = array.reshape((-1, n_features, n_features))
    symmetric = np.allclose(matrices, np.swapaxes(matrices, -1, -2))
    if not (np.isfinite(matrices).all() and symmetric and (np.linalg.eigvalsh(matrices) > 0).all()):
        raise ValueError(f"'{covariance_type} precision' should be symmetric, positive-definite")
    return array


def scaler_arrays(model: Model) -> tuple[FloatArray, FloatArray]:
    """(mean, scale) of the model's standardization (0 and 1 when it was fitted unscaled)."""
    n_features = model.params.n_features
    if model.scaler is None:
        return np.zeros(n_features), np.ones(n_features)
    return np.asarray(model.scaler.mean, dtype=np.float64), np.asarray(model.scaler.scale, dtype=np.float64)


def total_weight(model: Model) -> float:
    """Σ weights of the training rows (their number when unweighted)."""
    return float(model.log_likelihood.get("total_weight", model.n_samples))
