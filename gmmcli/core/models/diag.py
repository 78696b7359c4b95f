"""``diag`` (mclust's VVI): a diagonal covariance per component (variances of shape (K, D))."""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import CovarianceModel, prec_chol_of_variances


def _mahalanobis(Xc, means_c, prec_chol):
    precisions = prec_chol**2
    return (
        np.sum(means_c**2 * precisions, axis=1)
        - 2.0 * (Xc @ (means_c * precisions).T)
        + (Xc**2) @ precisions.T
    )


def _features(XT):
    d, n = XT.shape
    out = np.empty((2 * d + 1, n), dtype=XT.dtype)
    np.multiply(XT, XT, out=out[:d])
    out[d:2 * d] = XT
    out[-1] = 1.0
    return out


def _quad_weights(means_c, prec_chol):
    precisions = prec_chol**2
    linear = precisions * means_c
    return np.hstack([-0.5 * precisions, linear]).T, -0.5 * np.einsum("kd,kd->k", linear, means_c)


def _dense(cov, k, d):
    out = np.zeros((k, d, d))
    out[:, np.arange(d), np.arange(d)] = cov
    return out


MODEL = CovarianceModel(
    name="diag",
    mclust_name="VVI",
    shape=lambda k, d: (k, d),
    precisions_chol=prec_chol_of_variances,
    log_det=lambda prec_chol, k, d: np.log(prec_chol).sum(axis=1),
    mahalanobis=_mahalanobis,
    moment=lambda Xc, resp: resp.T @ (Xc * Xc),
    m_step=lambda moment, nk, means_c, reg_covar, previous=None: moment / nk[:, None] - means_c**2 + reg_covar,
    n_cov_parameters=lambda k, d: k * d,
    features=_features,
    n_quad_features=lambda d: 2 * d + 1,
    quad_weights=_quad_weights,
    moment_from_features=lambda g, d: g[:, :d],
    moment_from_dense=lambda second: np.diagonal(second, axis1=1, axis2=2).copy(),
    dense=_dense,
    marginal=lambda cov, o: cov[:, o],
    rescale=lambda cov, factor: cov * factor**2,
    min_variances=lambda cov, k: cov.min(axis=1),
)
