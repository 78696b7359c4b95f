"""One function table per covariance type.

Every entry of :data:`COVARIANCE_OPS` has the same signatures, so code elsewhere
never branches on the covariance type. Shapes follow scikit-learn:

===========  ===================  ===================
type         covariances          precisions_chol
===========  ===================  ===================
full         (K, D, D)            (K, D, D)
tied         (D, D)               (D, D)
diag         (K, D)               (K, D)
spherical    (K,)                 (K,)
===========  ===================  ===================

All data arguments ``Xc`` and ``means_c`` are already moved by the same shift,
which keeps the expanded quadratic forms free of cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from gmmcli.errors import NumericalError


def _singular(component: int | None) -> NumericalError:
    which = "the tied covariance" if component is None else f"component {component}"
    return NumericalError(
        f"covariance of {which} is not positive definite "
        "(a collapsed or degenerate component); increase --reg-covar or lower -k"
    )


def _cholesky_precision(cov: np.ndarray, component: int | None) -> np.ndarray:
    """Upper-triangular P with P Pᵀ = cov⁻¹, from the Cholesky factor of cov."""
    if not np.all(np.isfinite(cov)):
        raise _singular(component)
    try:
        cov_chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise _singular(component) from None
    # L⁻¹ of the (small, D x D) lower factor; numpy alone keeps start-up light (scipy.linalg costs 0.2 s)
    return np.linalg.solve(cov_chol, np.eye(cov.shape[0])).T


def _check_positive(variances: np.ndarray) -> None:
    bad = np.flatnonzero(~(np.asarray(variances) > 0).reshape(len(variances), -1).all(axis=1))
    if bad.size:
        raise _singular(int(bad[0]))


# ---------------------------------------------------------------- precisions_chol
def _prec_chol_full(covariances):
    return np.stack([_cholesky_precision(c, k) for k, c in enumerate(covariances)])


def _prec_chol_tied(covariances):
    return _cholesky_precision(covariances, None)


def _prec_chol_diag(covariances):
    _check_positive(covariances)
    return 1.0 / np.sqrt(covariances)


# ---------------------------------------------------------------- log-determinants
def _log_det_full(prec_chol, n_components, n_features):
    return np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)


def _log_det_tied(prec_chol, n_components, n_features):
    return np.full(n_components, np.log(np.diag(prec_chol)).sum())


def _log_det_diag(prec_chol, n_components, n_features):
    return np.log(prec_chol).sum(axis=1)


def _log_det_spherical(prec_chol, n_components, n_features):
    return n_features * np.log(prec_chol)


# ---------------------------------------------------------------- Mahalanobis (n, K)
def _maha_full(Xc, means_c, prec_chol):
    n_components, n_features, _ = prec_chol.shape
    # One GEMM for all components: Y[:, k*D:(k+1)*D] = Xc @ P_k.
    stacked = prec_chol.transpose(1, 0, 2).reshape(n_features, n_components * n_features)
    offsets = np.einsum("kd,kde->ke", means_c, prec_chol).reshape(-1)
    y = Xc @ stacked
    y -= offsets
    y *= y
    return y.reshape(len(Xc), n_components, n_features).sum(axis=2)


def _maha_tied(Xc, means_c, prec_chol):
    y = Xc @ prec_chol
    offsets = means_c @ prec_chol
    diff = y[:, None, :] - offsets[None, :, :]
    diff *= diff
    return diff.sum(axis=2)


def _maha_diag(Xc, means_c, prec_chol):
    precisions = prec_chol**2
    return (
        np.sum(means_c**2 * precisions, axis=1)
        - 2.0 * (Xc @ (means_c * precisions).T)
        + (Xc**2) @ precisions.T
    )


def _maha_spherical(Xc, means_c, prec_chol):
    precisions = prec_chol**2
    return (
        np.sum(means_c**2, axis=1) * precisions
        - 2.0 * (Xc @ means_c.T) * precisions
        + np.outer(np.einsum("ij,ij->i", Xc, Xc), precisions)
    )


# ---------------------------------------------------------------- second moments
_TRIU_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _triu(n_features: int):
    if n_features not in _TRIU_CACHE:
        _TRIU_CACHE[n_features] = np.triu_indices(n_features)
    return _TRIU_CACHE[n_features]


def _moment_full(Xc, resp):
    """Σᵢ rᵢₖ xᵢxᵢᵀ for every k, as one GEMM over the quadratic features."""
    return np.einsum("nk,ni,nj->kij", resp, Xc, Xc, optimize=True)


def _moment_tied(Xc, resp):
    """Σᵢ (Σₖ rᵢₖ) xᵢxᵢᵀ: the pooled second moment."""
    return (Xc * resp.sum(axis=1)[:, None]).T @ Xc


def _moment_diag(Xc, resp):
    return resp.T @ (Xc * Xc)


def _moment_spherical(Xc, resp):
    return resp.T @ np.einsum("ij,ij->i", Xc, Xc)


# ---------------------------------------------------------------- M-step covariances
def _cov_full(moment, nk, means_c, reg_covar):
    cov = moment / nk[:, None, None] - means_c[:, :, None] * means_c[:, None, :]
    idx = np.arange(means_c.shape[1])
    cov[:, idx, idx] += reg_covar
    return cov


def _cov_tied(moment, nk, means_c, reg_covar):
    cov = (moment - (nk[:, None] * means_c).T @ means_c) / nk.sum()
    cov.flat[:: len(cov) + 1] += reg_covar
    return cov


def _cov_diag(moment, nk, means_c, reg_covar):
    return moment / nk[:, None] - means_c**2 + reg_covar


def _cov_spherical(moment, nk, means_c, reg_covar):
    # The mean over features of the diagonal variances, as scikit-learn.
    return (moment / nk - np.sum(means_c**2, axis=1)) / means_c.shape[1] + reg_covar


# ---------------------------------------------------------------- quadratic features
# The fast path writes log N(x | k) as a linear function of features φ(x)
# (second-order terms, x, 1), so the E-step is one GEMM Wᵀφ and the M-step
# statistics are one GEMM r φᵀ. Features are built transposed, one row per
# feature and one column per data row, so every write is contiguous and every
# per-row operation over components runs along long rows.
# Rows of φ: [second order | x | 1].
def _features_full(XT):
    """[xᵢxⱼ for i ≤ j (row-major upper triangle) ; x ; 1], shape (D(D+1)/2 + D + 1, n)."""
    d, n = XT.shape
    t = d * (d + 1) // 2
    out = np.empty((t + d + 1, n), dtype=XT.dtype)
    pos = 0
    for i in range(d):
        np.multiply(XT[i], XT[i:], out=out[pos:pos + d - i])
        pos += d - i
    out[t:t + d] = XT
    out[-1] = 1.0
    return out


def _features_diag(XT):
    d, n = XT.shape
    out = np.empty((2 * d + 1, n), dtype=XT.dtype)
    np.multiply(XT, XT, out=out[:d])
    out[d:2 * d] = XT
    out[-1] = 1.0
    return out


def _features_spherical(XT):
    d, n = XT.shape
    out = np.empty((d + 2, n), dtype=XT.dtype)
    np.einsum("ij,ij->j", XT, XT, out=out[0])
    out[1:d + 1] = XT
    out[-1] = 1.0
    return out


def quad_feature_count(covariance_type: str, n_features: int) -> int:
    """Rows of φ for a covariance type (what a block of features costs per data row)."""
    d = n_features
    return {"full": d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": d, "spherical": 1}[covariance_type] + d + 1


def _precision_matrices(prec_chol, n_components):
    if prec_chol.ndim == 2:
        prec_chol = np.broadcast_to(prec_chol, (n_components,) + prec_chol.shape)
    return prec_chol @ prec_chol.transpose(0, 2, 1)


def _quad_weights_full(means_c, prec_chol):
    """Second-order and linear coefficients, shape (D(D+1)/2 + D, K), and −½ μᵀΛμ (K,)."""
    n_components, d = means_c.shape
    precisions = _precision_matrices(prec_chol, n_components)
    rows, cols = _triu(d)
    second = -precisions[:, rows, cols] * np.where(rows == cols, 0.5, 1.0)
    linear = np.einsum("kde,ke->kd", precisions, means_c)
    return np.hstack([second, linear]).T, -0.5 * np.einsum("kd,kd->k", linear, means_c)


def _quad_weights_diag(means_c, prec_chol):
    precisions = prec_chol**2
    linear = precisions * means_c
    return np.hstack([-0.5 * precisions, linear]).T, -0.5 * np.einsum("kd,kd->k", linear, means_c)


def _quad_weights_spherical(means_c, prec_chol):
    precisions = prec_chol**2
    linear = precisions[:, None] * means_c
    return np.vstack([-0.5 * precisions[None, :], linear.T]), -0.5 * np.einsum("kd,kd->k", linear, means_c)


def _unpack_full(packed, n_features):
    rows, cols = _triu(n_features)
    out = np.empty(packed.shape[:-1] + (n_features, n_features))
    out[..., rows, cols] = packed
    out[..., cols, rows] = packed
    return out


def _moment_from_features_full(g, n_features):
    return _unpack_full(g[:, : n_features * (n_features + 1) // 2], n_features)


def _moment_from_features_tied(g, n_features):
    return _unpack_full(g[:, : n_features * (n_features + 1) // 2].sum(axis=0), n_features)


def _moment_from_features_diag(g, n_features):
    return g[:, :n_features]


def _moment_from_features_spherical(g, n_features):
    return g[:, 0]


# ---------------------------------------------------------------- parameter counts
def _n_cov_params_full(n_components, n_features):
    return n_components * n_features * (n_features + 1) // 2


def _n_cov_params_tied(n_components, n_features):
    return n_features * (n_features + 1) // 2


def _n_cov_params_diag(n_components, n_features):
    return n_components * n_features


def _n_cov_params_spherical(n_components, n_features):
    return n_components


@dataclass(frozen=True)
class CovarianceOps:
    """The functions that differ between covariance types, all of one signature."""

    precisions_chol: Callable[[np.ndarray], np.ndarray]
    log_det: Callable[[np.ndarray, int, int], np.ndarray]
    mahalanobis: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    moment: Callable[[np.ndarray, np.ndarray], np.ndarray]
    covariances: Callable[[np.ndarray, np.ndarray, np.ndarray, float], np.ndarray]
    n_cov_parameters: Callable[[int, int], int]
    shape: Callable[[int, int], tuple[int, ...]]
    features: Callable[[np.ndarray], np.ndarray]
    quad_weights: Callable[[np.ndarray, np.ndarray], tuple]
    moment_from_features: Callable[[np.ndarray, int], np.ndarray]


COVARIANCE_OPS: dict[str, CovarianceOps] = {
    "full": CovarianceOps(
        _prec_chol_full, _log_det_full, _maha_full, _moment_full, _cov_full,
        _n_cov_params_full, lambda k, d: (k, d, d),
        _features_full, _quad_weights_full, _moment_from_features_full,
    ),
    "tied": CovarianceOps(
        _prec_chol_tied, _log_det_tied, _maha_tied, _moment_tied, _cov_tied,
        _n_cov_params_tied, lambda k, d: (d, d),
        _features_full, _quad_weights_full, _moment_from_features_tied,
    ),
    "diag": CovarianceOps(
        _prec_chol_diag, _log_det_diag, _maha_diag, _moment_diag, _cov_diag,
        _n_cov_params_diag, lambda k, d: (k, d),
        _features_diag, _quad_weights_diag, _moment_from_features_diag,
    ),
    "spherical": CovarianceOps(
        _prec_chol_diag, _log_det_spherical, _maha_spherical, _moment_spherical, _cov_spherical,
        _n_cov_params_spherical, lambda k, d: (k,),
        _features_spherical, _quad_weights_spherical, _moment_from_features_spherical,
    ),
}
