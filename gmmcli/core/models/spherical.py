"""``spherical`` (mclust's VII): one variance per component (shape (K,))."""

from __future__ import annotations

import numpy as np

from gmmcli.core.models.base import CovarianceModel, prec_chol_of_variances


def _mahalanobis(Xc, means_c, prec_chol):
    precisions = prec_chol**2
    return (
        np.sum(means_c**2, axis=1) * precisions
        - 2.0 * (Xc @ means_c.T) * precisions
        + np.outer(np.einsum("ij,ij->i", Xc, Xc), precisions)
    )


def _m_step(moment, nk, means_c, reg_covar, previous=None):
    # The mean over features of the diagonal variances, as scikit-learn.
    return (moment / nk - np.sum(means_c**2, axis=1)) / means_c.shape[1] + reg_covar


def _features(XT):
    d, n = XT.shape
    out = np.empty((d + 2, n), dtype=XT.dtype)
    np.einsum("ij,ij->j", XT, XT, out=out[0])
    out[1:d + 1] = XT
    out[-1] = 1.0
    return out


def _quad_weights(means_c, prec_chol):
    precisions = prec_chol**2
    linear = precisions[:, None] * means_c
    return np.vstack([-0.5 * precisions[None, :], linear.T]), -0.5 * np.einsum("kd,kd->k", linear, means_c)


MODEL = CovarianceModel(
    name="spherical",
    mclust_name="VII",
    shape=lambda k, d: (k,),
    precisions_chol=prec_chol_of_variances,
    log_det=lambda prec_chol, k, d: d * np.log(prec_chol),
    mahalanobis=_mahalanobis,
    moment=lambda Xc, resp: resp.T @ np.einsum("ij,ij->i", Xc, Xc),
    m_step=_m_step,
    n_cov_parameters=lambda k, d: k,
    features=_features,
    n_quad_features=lambda d: d + 2,
    quad_weights=_quad_weights,
    moment_from_features=lambda g, d: g[:, 0],
    moment_from_dense=lambda second: np.trace(second, axis1=1, axis2=2),
    dense=lambda cov, k, d: cov[:, None, None] * np.eye(d),
    marginal=lambda cov, o: cov,
    # one variance for every direction: each is scaled by the mean of factor²
    rescale=lambda cov, factor: cov * float(np.mean(factor**2)),
    min_variances=lambda cov, k: cov.copy(),
    rescale_exact=False,
)
